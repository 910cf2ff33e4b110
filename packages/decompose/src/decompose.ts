import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, InvalidArgumentError } from '@nextdetail/core';
import {
  ambrosioTortorelli,
  type AmbrosioTortorelliOptions,
  resolveAmbrosioTortorelliOptions,
} from './ambrosioTortorelli.js';
import type { ConjugateGradientOptions } from './conjugateGradient.js';
import { guidedFilter, type GuidedFilterOptions, resolveGuidedFilterOptions } from './guidedFilter.js';
import { normaliseImage, type ValueRange } from './imageInput.js';

export type SmoothingMethod = 'ambrosio-tortorelli' | 'guided-filter';

export interface DecomposeProgress {
  /** The level just finished, 1..order. */
  level: number;
  order: number;
}

export interface SmoothOptions {
  /**
   * `ambrosio-tortorelli` (default): CART's Mumford–Shah smoother. `guided-filter`: a fast, non-iterative edge-aware
   * alternative (He et al. 2010) with the same interface; not a Mumford–Shah minimiser, so its layers differ.
   */
  method?: SmoothingMethod;
  /** The value range of `image` and of every returned layer. Default `unit` ([0, 1]); `byte` is [0, 255]. */
  range?: ValueRange;
  /** Ambrosio–Tortorelli parameters, applied at every level. Defaults: CART's α = 10, β(λ) = 0.01, ε = 0.01. */
  ambrosioTortorelli?: Partial<Omit<AmbrosioTortorelliOptions, 'solver'>> & { solver?: Partial<ConjugateGradientOptions> };
  /** Guided-filter parameters, applied at every level. */
  guidedFilter?: Partial<GuidedFilterOptions>;
}

export interface DecomposeOptions extends SmoothOptions {
  /** n: number of detail layers. 0 returns the image as its own base (CART order 0 = VAR). Default 3, as in CART. */
  order?: number;
  /** Called after each level. */
  progress?: (p: DecomposeProgress) => void;
}

export interface Decomposition {
  /** B_n, the smoothest base. Same shape and range as the input. */
  base: tf.Tensor;
  /** [D_1, …, D_n]: D_k = B_{k−1} − B_k, finest first. image = base + Σ details up to float32 rounding. */
  details: tf.Tensor[];
  /**
   * One edge field per level, each in [0, 1] with 1 in smooth regions and ≈0 on edges (Ambrosio–Tortorelli's v;
   * for the guided filter 1 − mean(a)). Same shape as the input, per channel.
   */
  edges: tf.Tensor[];
}

type Smoother = (x: tf.Tensor4D) => Promise<{ smoothed: tf.Tensor4D; edge: tf.Tensor4D }>;

function resolveSmoother(options: SmoothOptions): { smoother: Smoother; minSide: number } {
  const { method = 'ambrosio-tortorelli' } = options;
  if (method === 'ambrosio-tortorelli') {
    const at = resolveAmbrosioTortorelliOptions(options.ambrosioTortorelli, 'options.ambrosioTortorelli');
    const smoother: Smoother = async (x) => {
      const r = await ambrosioTortorelli(x, at);
      r.energy.dispose();
      return { smoothed: r.u, edge: r.v };
    };
    return { smoother, minSide: 2 };
  }
  if (method === 'guided-filter') {
    const gf = resolveGuidedFilterOptions(options.guidedFilter, 'options.guidedFilter');
    const smoother: Smoother = async (x) => {
      const r = guidedFilter(x, gf);
      return { smoothed: r.q, edge: r.edges };
    };
    return { smoother, minSide: gf.radius + 1 };
  }
  throw new InvalidArgumentError('options.method', '"ambrosio-tortorelli" or "guided-filter"', JSON.stringify(method));
}

export interface Smoothed {
  /** The edge-aware smoothed image (B_1 of a decomposition). Same shape and range as the input. */
  smoothed: tf.Tensor;
  /** The edge field in [0, 1]: 1 in smooth regions, ≈0 on edges. Same shape as the input. */
  edges: tf.Tensor;
}

/**
 * One level of edge-aware smoothing: what `decompose` applies repeatedly. Same input contract as `decompose`.
 * The caller owns the returned tensors.
 */
export async function smooth(image: tf.Tensor, options: SmoothOptions = {}): Promise<Smoothed> {
  const { smoother, minSide } = resolveSmoother(options);
  const { batch, restore, restoreRank } = await normaliseImage(image, 'image', options.range ?? 'unit', minSide);
  try {
    const { smoothed, edge } = await smoother(batch);
    const result = { smoothed: restore(smoothed), edges: restoreRank(edge) };
    tf.dispose([smoothed, edge]);
    return result;
  } finally {
    batch.dispose();
  }
}

/**
 * Base/detail decomposition I = B_n + D_n + … + D_1 by repeated edge-aware smoothing (CART §3.1, eq. 9–10):
 * B_0 = I, B_k = smooth(B_{k−1}), D_k = B_{k−1} − B_k.
 *
 * `image` is a float32 or int32 tensor [H, W, C] or [B, H, W, C] (NHWC) with C = 1 or 3 and H, W ≥ 2 (guided filter:
 * > radius), values in the declared `range`. Each channel is smoothed on its own. Every returned tensor is the
 * caller's to dispose (see `disposeDecomposition`).
 */
export async function decompose(image: tf.Tensor, options: DecomposeOptions = {}): Promise<Decomposition> {
  const { order = 3, progress } = options;
  checkNumber(order, 'options.order', { min: 0, integer: true });
  const { smoother, minSide } = resolveSmoother(options);
  const { batch, restore, restoreRank } = await normaliseImage(image, 'image', options.range ?? 'unit', minSide);

  const details: tf.Tensor[] = [];
  const edges: tf.Tensor[] = [];
  let previous = batch;
  try {
    for (let level = 1; level <= order; level++) {
      const { smoothed, edge } = await smoother(previous);
      details.push(tf.tidy(() => restore(tf.sub(previous, smoothed))));
      edges.push(restoreRank(edge));
      edge.dispose();
      previous.dispose();
      previous = smoothed;
      progress?.({ level, order });
    }
    return { base: restore(previous), details, edges };
  } catch (err) {
    tf.dispose([...details, ...edges]);
    throw err;
  } finally {
    previous.dispose();
  }
}

/** Disposes every tensor of a decomposition. */
export function disposeDecomposition(d: Decomposition): void {
  tf.dispose([d.base, ...d.details, ...d.edges]);
}
