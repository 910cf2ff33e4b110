import * as tf from '@tensorflow/tfjs-core';
import {
  checkNumber,
  checkTensor,
  describeShape,
  describeValue,
  InvalidArgumentError,
  ShapeError,
} from '@nextdetail/core';
import { decompose, type DecomposeOptions, disposeDecomposition } from '@nextdetail/decompose';
import type { VarVqvae } from '../vqvae/varVqvae.js';
import { detailStepCounts } from './detailStepCounts.js';
import type { MultiScaleResidualQuantizer } from './multiScaleResidual.js';
import { nearestCode } from './nearestCode.js';
import { describePatchSizes, type PatchNums, type PatchSizes, toPatchSizes } from './patchNums.js';

export interface BaseDetailQuantizerConfig {
  /**
   * The 𝓑 base steps: VAR's multi-scale schedule on f_{B_n}, whose last entry is the latent size. Default: the
   * quantizer's `patchNums`, so that order 0 is VAR exactly (CART Table 4).
   */
  basePatchNums?: PatchNums;
  /**
   * The 𝓜 − 𝓑 full-resolution detail maps: a total split as evenly as possible across the factors (extra maps to the
   * deepest), or one count per factor [D_1, …, D_n]. Default: one map per factor. The paper is ambiguous here: Table 1
   * gives CART 14 steps with n = 3, which is neither 10 VAR scales + 3 equal groups nor divisible as (𝓜 − 𝓑)/n with
   * 𝓑 = 10. One map per factor is the smallest even split and keeps 𝓑 = VAR's 10 scales; `detailSteps: 4` gives
   * Table 1's 14 steps (D_3 gets two maps).
   */
  detailSteps?: number | readonly number[];
  /**
   * Which base scale's Phi the detail steps use, as an index into `basePatchNums`. Algorithm 2 writes Phi_k without
   * saying which Phi a step beyond 𝓑 takes; the default is the last scale's (SN − 1), the Phi VAR applies to its one
   * full-resolution map, since detail maps are full resolution too.
   */
  detailPhiScale?: number;
}

/** The latents of a base-detail decomposition: f_{B_n} and f_{D_k} = f_{B_{k−1}} − f_{B_k}, all [B, H, W, Cvae]. */
export interface BaseDetailLatents {
  fBase: tf.Tensor4D;
  /** [f_{D_1}, …, f_{D_n}], finest first (decompose's order); empty for order 0. */
  fDetails: readonly tf.Tensor4D[];
}

export interface BaseDetailImageOptions {
  /** n, the decomposition order (default 3, as in CART); 0 is VAR. */
  order?: number;
  /** The smoother's settings; the image range is always [0, 1]. */
  decomposeOptions?: Omit<DecomposeOptions, 'order' | 'range'>;
}

// Type aliases rather than interfaces, so that tf.dispose(result) accepts them as tensor containers.
/** One token map: ids int32 [B, h·w] (row-major) of base scale `scale`, or a full-resolution map of factor D_factor. */
export type BaseDetailStep =
  | { kind: 'base'; scale: number; size: [number, number]; idx_Bl: tf.Tensor2D }
  | { kind: 'detail'; factor: number; size: [number, number]; idx_Bl: tf.Tensor2D };

/** The token maps r_1 … r_𝓜 in generation order: the 𝓑 base steps, then the detail steps from D_n to D_1. */
export type BaseDetailPlan = { steps: BaseDetailStep[] };

export type BaseDetailEncoding = BaseDetailPlan & {
  /** f̂ = Σ_k Phi_k(z_k), [B, H, W, Cvae]: the decoder's input. */
  fhat_BHWC: tf.Tensor4D;
  /** f_I after Algorithm 1 subtracted every step's term: f_I − f̂ up to float32 rounding. */
  residual_BHWC: tf.Tensor4D;
  /** What the base steps left of f_{B_n}. */
  baseResidual_BHWC: tf.Tensor4D;
  /** What the detail steps left of each f_{D_k}, [D_1, …, D_n]. */
  detailResiduals_BHWC: tf.Tensor4D[];
};

/**
 * CART's base-detail multi-scale residual quantizer (arXiv 2411.10180 §3.2, Algorithms 1 and 2) on top of VAR's
 * quantizer, whose codebook and Phis it shares (the paper: "the base and detail factors all share the same code book").
 * There is no reference code; the choices left open by the paper are documented on the config.
 *
 * The quantizer stays the caller's to dispose; every returned tensor is the caller's too.
 */
export class BaseDetailQuantizer {
  readonly basePatchNums: PatchSizes;
  readonly detailSteps: number | readonly number[] | undefined;
  readonly detailPhiScale: number;

  constructor(
    readonly quantizer: MultiScaleResidualQuantizer,
    config: BaseDetailQuantizerConfig = {},
  ) {
    if (config === null || typeof config !== 'object') {
      throw new InvalidArgumentError('config', 'an object', describeValue(config));
    }
    this.basePatchNums = toPatchSizes(config.basePatchNums ?? quantizer.patchNums, 'config.basePatchNums');
    const scaleCount = this.basePatchNums.length;
    if (quantizer.shareQuantResi === 0 && scaleCount !== quantizer.patchNums.length) {
      throw new InvalidArgumentError(
        'config.basePatchNums',
        `${quantizer.patchNums.length} scales (share_quant_resi = 0 has one Phi per configured scale)`,
        `${scaleCount} scales ${describePatchSizes(this.basePatchNums)}`,
      );
    }
    // Only the form is checked here: the counts per factor need the decomposition order, known at encoding.
    const factorsGiven = Array.isArray(config.detailSteps) ? config.detailSteps.length : 1;
    detailStepCounts(config.detailSteps, factorsGiven, 'config.detailSteps');
    this.detailSteps = config.detailSteps;
    this.detailPhiScale = config.detailPhiScale ?? scaleCount - 1;
    checkNumber(this.detailPhiScale, 'config.detailPhiScale', { integer: true, min: 0, max: scaleCount - 1 });
  }

  /** The latent size [H, W]: the last base patch size. */
  get latentSize(): readonly [number, number] {
    return this.basePatchNums[this.basePatchNums.length - 1]!;
  }

  /**
   * Algorithm 1 on latents. f_I is not an input: f_{B_0} = f_{B_n} + Σ_k (f_{B_{k−1}} − f_{B_k}) telescopes, so
   * f_I = f_B + Σ f_D.
   *
   *   k ≤ 𝓑: r_k = Q(area(f_B, h_k×w_k)); z_k = up(E[r_k]); f_B −= Phi(z_k); f_I −= Phi(z_k)
   *   k > 𝓑: r_k = Q(f_{D_t}) (t from n down to 1); z_k = E[r_k]; f_{D_t} −= Phi(z_k); f_I −= Phi(z_k)
   */
  encodeLatents(latents: BaseDetailLatents): BaseDetailEncoding {
    const { fBase, fDetails } = this.checkLatents(latents);
    const [b, h, w, c] = fBase.shape;
    const counts = detailStepCounts(this.detailSteps, fDetails.length, 'config.detailSteps');
    return tf.tidy(() => {
      // The base steps are VAR's encoding of f_B, with VAR's accumulation order for f̂.
      const { idx_Bl } = this.quantizer.encode(fBase, this.basePatchNums);
      const steps: BaseDetailStep[] = idx_Bl.map((idx, si) => ({
        kind: 'base',
        scale: si,
        size: [...this.basePatchNums[si]!],
        idx_Bl: idx,
      }));
      const baseFhat_BHWC = this.quantizer.idxToFhat(idx_Bl, this.basePatchNums);
      const baseResidual_BHWC: tf.Tensor4D = tf.sub(fBase, baseFhat_BHWC);
      let fhat_BHWC = baseFhat_BHWC;
      const fImage_BHWC = fDetails.reduce<tf.Tensor4D>((sum, fD) => tf.add(sum, fD), fBase);
      let residual_BHWC: tf.Tensor4D = tf.sub(fImage_BHWC, fhat_BHWC);
      const detailResiduals_BHWC = fDetails.map((fD) => tf.clone(fD));
      for (let factor = fDetails.length; factor >= 1; factor--) {
        for (let s = 0; s < counts[factor - 1]!; s++) {
          const rest_BHWC = detailResiduals_BHWC[factor - 1]!;
          const idx_N = nearestCode(tf.reshape(rest_BHWC, [b * h * w, c]), this.quantizer.embedding_VC);
          const idx: tf.Tensor2D = tf.reshape(idx_N, [b, h * w]);
          steps.push({ kind: 'detail', factor, size: [h, w], idx_Bl: idx });
          const term_BHWC = this.detailTerm(idx);
          fhat_BHWC = tf.add(fhat_BHWC, term_BHWC);
          detailResiduals_BHWC[factor - 1] = tf.sub(rest_BHWC, term_BHWC);
          residual_BHWC = tf.sub(residual_BHWC, term_BHWC);
        }
      }
      return { steps, fhat_BHWC, residual_BHWC, baseResidual_BHWC, detailResiduals_BHWC };
    });
  }

  /**
   * Algorithm 1 from an image [B, H, W, 3] in [0, 1]: decompose (B_0 = I, B_k = smooth(B_{k−1}), D_k = B_{k−1} − B_k),
   * run the VAE encoder on every base B_k (mapped to VAR's [−1, 1]), and quantise f_{B_n} and f_{D_k} = f_{B_{k−1}} −
   * f_{B_k}. Encoding the bases rather than the details keeps the encoder on images of the kind it was trained on.
   */
  async encodeImage(
    vae: VarVqvae,
    image_BHWC: tf.Tensor4D,
    options: BaseDetailImageOptions = {},
  ): Promise<BaseDetailEncoding> {
    checkTensor(image_BHWC, 'image_BHWC', { rank: 4, dtype: 'float32' });
    const { order = 3, decomposeOptions = {} } = options;
    const parts = await decompose(image_BHWC, { ...decomposeOptions, order, range: 'unit' });
    try {
      return tf.tidy(() => {
        const details = parts.details as tf.Tensor4D[];
        // bases[k] = B_k: B_n from decompose, B_k = B_{k+1} + D_{k+1} above it, and B_0 the image itself.
        const bases: tf.Tensor4D[] = [parts.base as tf.Tensor4D];
        for (let k = order - 1; k >= 1; k--) bases.unshift(tf.add(bases[0]!, details[k]!));
        if (order > 0) bases.unshift(image_BHWC);
        const f_BHWC = bases.map((base) => vae.encode(tf.sub(tf.mul(base, 2), 1)));
        const fDetails = details.map((_, i): tf.Tensor4D => tf.sub(f_BHWC[i]!, f_BHWC[i + 1]!));
        return this.encodeLatents({ fBase: f_BHWC[order]!, fDetails });
      });
    } finally {
      disposeDecomposition(parts);
    }
  }

  /**
   * Algorithm 2 before the decoder: f̂ = Σ_k Phi_k(z_k), base terms up-sampled first, accumulated in step order from
   * VAR's f̂ of the base steps (so an encoding's f̂ is reproduced bit for bit).
   */
  idxToFhat(plan: BaseDetailPlan): tf.Tensor4D {
    const { baseIds, detailIds } = this.checkPlan(plan);
    return tf.tidy(() =>
      detailIds.reduce<tf.Tensor4D>(
        (fhat_BHWC, idx) => tf.add(fhat_BHWC, this.detailTerm(idx)),
        this.quantizer.idxToFhat(baseIds, this.basePatchNums),
      ),
    );
  }

  /** Each step's term Phi_k(z_k) of Algorithm 2 at the latent size [B, H, W, Cvae], in step order. */
  stepContributions(plan: BaseDetailPlan): tf.Tensor4D[] {
    const { baseIds, detailIds } = this.checkPlan(plan);
    return tf.tidy(() => [
      ...baseIds.map((idx, si) => {
        const size = this.basePatchNums[si]!;
        return this.quantizer.scaleTerm(si, this.quantizer.embed(idx, size), this.basePatchNums);
      }),
      ...detailIds.map((idx) => this.detailTerm(idx)),
    ]);
  }

  /**
   * The transformer's teacher-forcing input [B, L − h₀·w₀, Cvae], row-major per step: for base steps VAR's (the
   * cumulative f̂ of the steps before, area-down-sampled to the step's size), for each detail step the cumulative f̂
   * of the steps before it at full resolution. The last step's ids are not used.
   */
  teacherForcingInput(plan: BaseDetailPlan): tf.Tensor3D {
    const { baseIds, detailIds } = this.checkPlan(plan);
    const b = baseIds[0]!.shape[0];
    const [h, w] = this.latentSize;
    return tf.tidy(() => {
      const inputs_BlC: tf.Tensor3D[] = [this.quantizer.teacherForcingInput(baseIds, this.basePatchNums)];
      let fhat_BHWC = this.quantizer.idxToFhat(baseIds, this.basePatchNums);
      detailIds.forEach((idx) => {
        inputs_BlC.push(tf.reshape(fhat_BHWC, [b, h * w, this.quantizer.cvae]));
        fhat_BHWC = tf.add(fhat_BHWC, this.detailTerm(idx));
      });
      return tf.concat(inputs_BlC, 1);
    });
  }

  /** A detail step's term Phi(E[idx]): full resolution, so no resampling, and the Phi of base scale detailPhiScale. */
  private detailTerm(idx_Bl: tf.Tensor2D): tf.Tensor4D {
    const fullResolution = this.basePatchNums.map(() => this.latentSize);
    return tf.tidy(() =>
      this.quantizer.scaleTerm(this.detailPhiScale, this.quantizer.embed(idx_Bl, this.latentSize), fullResolution),
    );
  }

  private checkLatents(latents: BaseDetailLatents): BaseDetailLatents {
    if (latents === null || typeof latents !== 'object') {
      throw new InvalidArgumentError('latents', 'an object { fBase, fDetails }', describeValue(latents));
    }
    const { fBase, fDetails } = latents;
    checkTensor(fBase, 'latents.fBase', { rank: 4, dtype: 'float32' });
    const [lh, lw] = this.latentSize;
    const cvae = this.quantizer.cvae;
    const [b, h, w, c] = fBase.shape;
    if (b < 1 || h !== lh || w !== lw || c !== cvae) {
      const schedule = describePatchSizes(this.basePatchNums);
      const expected = `[B ≥ 1, ${lh}, ${lw}, ${cvae}] (the last base patch size of ${schedule}, Cvae = ${cvae})`;
      throw new ShapeError('latents.fBase', expected, describeShape(fBase.shape));
    }
    if (!Array.isArray(fDetails)) {
      throw new InvalidArgumentError('latents.fDetails', 'an array [f_{D_1}, …, f_{D_n}]', describeValue(fDetails));
    }
    fDetails.forEach((fD, i) => {
      checkTensor(fD, `latents.fDetails[${i}]`, { rank: 4, dtype: 'float32' });
      if (!sameShape(fD.shape, fBase.shape)) {
        const expected = `${describeShape(fBase.shape)} (latents.fBase's shape)`;
        throw new ShapeError(`latents.fDetails[${i}]`, expected, describeShape(fD.shape));
      }
    });
    return { fBase, fDetails };
  }

  /** The plan's ids: 𝓑 base steps matching `basePatchNums`, then full-resolution detail steps, one batch size. */
  private checkPlan(plan: BaseDetailPlan): { baseIds: tf.Tensor2D[]; detailIds: tf.Tensor2D[] } {
    const steps: unknown = plan?.steps;
    const sizes = this.basePatchNums;
    if (!Array.isArray(steps) || steps.length < sizes.length) {
      const expected = `an array of at least ${sizes.length} steps (the base schedule ${describePatchSizes(sizes)})`;
      throw new InvalidArgumentError('plan.steps', expected, describeValue(steps));
    }
    const [lh, lw] = this.latentSize;
    let b = 0;
    const ids = (steps as BaseDetailStep[]).map((step, i) => {
      const base = i < sizes.length;
      const [ph, pw] = base ? sizes[i]! : [lh, lw];
      const kindOk = base
        ? step?.kind === 'base' && step.scale === i
        : step?.kind === 'detail' && Number.isInteger(step.factor) && step.factor >= 1;
      if (!kindOk || step.size?.[0] !== ph || step.size?.[1] !== pw) {
        const expected = base
          ? `base step ${i} of ${ph}×${pw} tokens`
          : `a detail step of ${lh}×${lw} tokens with a factor ≥ 1`;
        throw new InvalidArgumentError(`plan.steps[${i}]`, expected, describeStep(step));
      }
      checkTensor(step.idx_Bl, `plan.steps[${i}].idx_Bl`, { rank: 2, dtype: 'int32' });
      if (i === 0) b = step.idx_Bl.shape[0];
      if (b < 1 || !sameShape(step.idx_Bl.shape, [b, ph * pw])) {
        const expected = `[${b < 1 ? 'B ≥ 1' : b}, ${ph * pw}] (${ph}×${pw} tokens)`;
        throw new ShapeError(`plan.steps[${i}].idx_Bl`, expected, describeShape(step.idx_Bl.shape));
      }
      return step.idx_Bl;
    });
    return { baseIds: ids.slice(0, sizes.length), detailIds: ids.slice(sizes.length) };
  }
}

function describeStep(step: unknown): string {
  if (step === null || typeof step !== 'object') return describeValue(step);
  const { kind, scale, factor, size } = step as Record<string, unknown>;
  const where = kind === 'base' ? `scale ${describeValue(scale)}` : `factor ${describeValue(factor)}`;
  const at = Array.isArray(size) ? size.join('×') : describeValue(size);
  return `${describeValue(kind)} step, ${where}, ${at}`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
