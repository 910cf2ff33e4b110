import * as tf from '@tensorflow/tfjs-core';
import { describeValue, InvalidArgumentError, RandomGenerator, resize } from '@nextdetail/core';
import type { BaseDetailStep, CartTokenizer, GridStep, TokenPlan, Tokenizer } from '@nextdetail/tokenizers';
import type { ScaleGenerator } from '@nextdetail/transformer';
import { generateScalePlan, type ScaleLoopOptions } from './scaleLoop.js';

export type HighResolutionOptions = Omit<ScaleLoopOptions, 'schedule' | 'imageSize' | 'prefix' | 'edit' | 'steps' | 'moreSmooth'> & {
  /** The output size [H, W]: multiples of the downsampling factor, at least the trained image size on both sides. */
  size: readonly [number, number];
};

/** A type alias so that tf.dispose accepts it; the caller owns every tensor. */
export type HighResolutionGeneration = {
  /** The decoded images [B, H, W, 3] at the requested size. */
  images_BHWC: tf.Tensor4D;
  /** The base steps, generated at the trained resolution. */
  basePlan: TokenPlan;
  /** Their base factor f̂_B, bilinearly up-sampled to the target latent grid, [B, H/f, W/f, C]. */
  base_BHWC: tf.Tensor4D;
  /** The detail token maps over the whole target latent grid, in generation order (D_n first), int32 [B, H/f·W/f]. */
  details: GridStep[];
  /** The decoder's input: base_BHWC plus every detail map's term Phi(E[ids]), [B, H/f, W/f, C]. */
  fhat_BHWC: tf.Tensor4D;
};

/** Window origins along one axis: tiles of `window` from 0, the last one moved back to end at the border. */
function windowStarts(length: number, window: number): number[] {
  const starts: number[] = [];
  for (let at = 0; at < length; at += window) starts.push(Math.min(at, length - window));
  return starts;
}

/**
 * CART's higher resolutions without retraining (arXiv 2411.10180 §4.2.1): the base factor carries the global
 * structure and is up-scaled, the detail factors carry local texture and are generated patch-wise at the target
 * resolution with the model trained at the lower one.
 *
 * 1. The base steps are generated at the trained resolution (the same draws as a complete `generate` run's base).
 * 2. Their latent f̂_B is up-sampled to the target latent grid. Interpretation: the paper (Fig. 6) says "bilinear
 *    resizing of base factor"; it is done here on the latent (bilinear, half-pixel), not on the decoded base image,
 *    since the detail steps condition on the latent f̂.
 * 3. The target latent is tiled with windows of the trained latent size (no overlap, except that the last row and
 *    column of windows end at the border and overwrite the overlap). For each window the model sees the window's
 *    base as its teacher-forced base steps — the up-scaled f̂_B cropped to the window and re-quantised with the base
 *    schedule, the only base context the model knows — and generates the detail steps; all windows run as one batch.
 * 4. f̂ = up(f̂_B) + Σ Phi(E[detail ids]) over the whole grid (the detail maps are assembled before Phi's 3×3
 *    convolution, so windows do not meet at zero-padded borders), then the decoder.
 *
 * The up-scaled base factor is kept as it is in f̂: only the detail factors are added to it, as the paper describes.
 */
export async function generateHighResolution(
  tokenizer: Tokenizer,
  generator: ScaleGenerator,
  options: HighResolutionOptions,
): Promise<HighResolutionGeneration> {
  if (tokenizer.family !== 'cart' || (tokenizer as CartTokenizer).order < 1) {
    const actual = tokenizer.family === 'cart' ? 'a CART tokenizer of order 0' : `a ${describeValue(tokenizer.family)} tokenizer`;
    throw new InvalidArgumentError('tokenizer', 'a CART tokenizer of order ≥ 1 (base and detail factors)', actual);
  }
  const cart = tokenizer as CartTokenizer;
  const { size, seed, rng: givenRng, ...loop } = options;
  const f = cart.downsampleFactor;
  const [th, tw] = cart.imageSize;
  const valid = Array.isArray(size) && size.length === 2 && size.every((n, i) => Number.isInteger(n) && n % f === 0 && n >= [th, tw][i]!);
  if (!valid) throw new InvalidArgumentError('size', `[H, W], multiples of ${f}, at least the trained ${th}×${tw}`, describeValue(size));
  const latent: [number, number] = [size[0] / f, size[1] / f];
  const [lh, lw] = cart.baseDetail.latentSize;
  const baseCount = cart.baseDetail.basePatchNums.length;
  const rng = givenRng ?? (seed === undefined ? undefined : new RandomGenerator(seed));
  const loopOptions = { ...loop, ...(rng ? { rng } : {}) };

  const basePlan = await generateScalePlan(cart, generator, { ...loopOptions, steps: baseCount });
  const owned: tf.Tensor[] = [];
  const kept = new Set<tf.Tensor>();
  try {
    const baseSteps = basePlan.steps.map((s, scale): BaseDetailStep => ({ kind: 'base', scale, size: [...s.size], idx_Bl: s.idx_Bl }));
    const base_BHWC = tf.tidy(() => resize(cart.baseDetail.idxToFhat({ steps: baseSteps }), latent, 'bilinear'));
    owned.push(base_BHWC);
    const B = options.labels.length;
    const windows = windowStarts(latent[0], lh).flatMap((top) => windowStarts(latent[1], lw).map((left) => [top, left] as const));
    const crops_NhwC = tf.tidy(() => tf.concat(windows.map(([top, left]) => tf.slice(base_BHWC, [0, top, left, 0], [B, lh, lw, -1])), 0) as tf.Tensor4D);
    owned.push(crops_NhwC);
    const { steps: cropSteps, ...rest } = cart.baseDetail.encodeLatents({ fBase: crops_NhwC, fDetails: [] });
    tf.dispose(rest);
    owned.push(...cropSteps.map((s) => s.idx_Bl));
    const windowPlan = await generateScalePlan(cart, generator, {
      ...loopOptions,
      labels: windows.flatMap(() => options.labels),
      prefix: { steps: cropSteps.map((s) => ({ kind: 'base', size: s.size, idx_Bl: s.idx_Bl })) },
    });
    owned.push(...windowPlan.steps.map((s) => s.idx_Bl));
    const details = tf.tidy(() =>
      windowPlan.steps.slice(baseCount).map((step): GridStep => {
        let ids_BHW = tf.zeros([B, ...latent], 'int32');
        windows.forEach(([top, left], n) => {
          const pads: [number, number][] = [[0, 0], [top, latent[0] - lh - top], [left, latent[1] - lw - left]];
          const piece_BhW = tf.reshape(tf.slice(step.idx_Bl, [n * B, 0], [B, -1]), [B, lh, lw]);
          const inside_BHW = tf.cast(tf.pad(tf.ones([B, lh, lw], 'int32'), pads), 'bool');
          ids_BHW = tf.where(inside_BHW, tf.pad(piece_BhW, pads), ids_BHW);
        });
        return { kind: 'detail', size: [...latent], idx_Bl: tf.reshape(ids_BHW, [B, latent[0] * latent[1]]) as tf.Tensor2D };
      }),
    );
    owned.push(...details.map((d) => d.idx_Bl));
    const fullResolution = cart.baseDetail.basePatchNums.map(() => latent);
    const fhat_BHWC = tf.tidy(() =>
      details.reduce<tf.Tensor4D>(
        (sum, d) => tf.add(sum, cart.quantizer.scaleTerm(cart.baseDetail.detailPhiScale, cart.quantizer.embed(d.idx_Bl, latent), fullResolution)),
        tf.clone(base_BHWC),
      ),
    );
    owned.push(fhat_BHWC);
    const images_BHWC = tf.tidy(() => cart.vae.fhatToImage(fhat_BHWC));
    for (const t of [base_BHWC, fhat_BHWC, ...details.map((d) => d.idx_Bl)]) kept.add(t);
    return { images_BHWC, basePlan, base_BHWC, details, fhat_BHWC };
  } catch (err) {
    tf.dispose(basePlan.steps.map((s) => s.idx_Bl));
    throw err;
  } finally {
    tf.dispose(owned.filter((t) => !kept.has(t)));
  }
}
