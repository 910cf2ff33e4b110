import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, describeValue, InvalidArgumentError, resize, type TensorSource } from '@nextdetail/core';
import type { DecomposeOptions } from '@nextdetail/decompose';
import {
  type BaseDetailEncoding,
  type BaseDetailLatents,
  type BaseDetailPlan,
  BaseDetailQuantizer,
  type BaseDetailQuantizerConfig,
  type BaseDetailStep,
} from './quantizer/baseDetail.js';
import { detailStepCounts } from './quantizer/detailStepCounts.js';
import { MultiScaleResidualQuantizer } from './quantizer/multiScaleResidual.js';
import {
  checkImageSize,
  checkLatent,
  checkNativeSize,
  checkPlanAgainstSchedule,
  checkPlanForm,
  checkSize,
  checkStepWeights,
  type LatentStepTokenizer,
  type StepSpec,
  type TokenPlan,
} from './tokenizer.js';
import type { VarTokenizerConfig } from './varTokenizer.js';
import { VarVqvae } from './vqvae/varVqvae.js';

export interface CartTokenizerConfig extends VarTokenizerConfig {
  /** n, the base/detail decomposition order (default 3, as in CART); 0 is VAR exactly. */
  order?: number;
  /** The base schedule, detail map counts and the detail steps' Phi (defaults: VAR's scales, one map per factor). */
  baseDetail?: BaseDetailQuantizerConfig;
  /** The smoother that splits images into bases and details; the image range is handled here. */
  decomposeOptions?: Omit<DecomposeOptions, 'order' | 'range'>;
}

/** One schedule entry with what the base/detail quantizer needs to read the step back. */
type CartStepSpec = StepSpec & ({ kind: 'base'; scale: number } | { kind: 'detail'; factor: number });

/**
 * CART's tokenizer (arXiv 2411.10180 §3.2, Algorithms 1 and 2): VAR's VQVAE and codebook, the image split into a base
 * and n detail factors by @nextdetail/decompose, the base tokenised with VAR's scales and each detail factor with
 * full-resolution maps, deepest first. Order 0 encodes the image itself, so its plan has VAR's ids, inputs and images
 * (its steps are `base` steps). Transformer inputs are VAR's for base steps (area-down-sampled cumulative f̂) and the
 * cumulative f̂ at full resolution for detail steps.
 */
export class CartTokenizer implements LatentStepTokenizer {
  readonly family = 'cart' as const;
  readonly vocabSize: number;
  readonly latentChannels: number;
  readonly downsampleFactor: number;
  readonly imageSize: [number, number];
  readonly order: number;
  private readonly steps: readonly CartStepSpec[];

  private constructor(
    readonly vae: VarVqvae,
    readonly quantizer: MultiScaleResidualQuantizer,
    readonly baseDetail: BaseDetailQuantizer,
    order: number,
    private readonly decomposeOptions: Omit<DecomposeOptions, 'order' | 'range'>,
  ) {
    this.order = order;
    this.vocabSize = quantizer.vocabSize;
    this.latentChannels = quantizer.cvae;
    this.downsampleFactor = vae.downsampleFactor;
    const [lh, lw] = baseDetail.latentSize;
    this.imageSize = [lh * this.downsampleFactor, lw * this.downsampleFactor];
    const counts = detailStepCounts(baseDetail.detailSteps, order, 'config.baseDetail.detailSteps');
    const base = baseDetail.basePatchNums.map(([h, w], scale): CartStepSpec => ({ kind: 'base', scale, size: [h, w], tokens: h * w }));
    const details: CartStepSpec[] = [];
    for (let factor = order; factor >= 1; factor--) {
      for (let s = 0; s < counts[factor - 1]!; s++) details.push({ kind: 'detail', factor, size: [lh, lw], tokens: lh * lw });
    }
    this.steps = [...base, ...details];
  }

  /** Reads VAR's VQVAE state dict (CART shares VAR's tokenizer) and sets up the decomposition. */
  static async fromStateDict(source: TensorSource, config: CartTokenizerConfig): Promise<CartTokenizer> {
    if (config === null || typeof config !== 'object') throw new InvalidArgumentError('config', 'an object', describeValue(config));
    const { order = 3, decomposeOptions = {} } = config;
    checkNumber(order, 'config.order', { integer: true, min: 0 });
    const vae = await VarVqvae.fromStateDict(source, config.vae);
    let quantizer: MultiScaleResidualQuantizer | undefined;
    try {
      quantizer = await MultiScaleResidualQuantizer.fromStateDict(source, config.quantizer);
      return new CartTokenizer(vae, quantizer, new BaseDetailQuantizer(quantizer, config.baseDetail), order, decomposeOptions);
    } catch (err) {
      vae.dispose();
      quantizer?.dispose();
      throw err;
    }
  }

  /** The 𝓑 base scales, then the detail maps from D_n to D_1; only the native image size has one. */
  schedule(imageSize: readonly [number, number] = this.imageSize): StepSpec[] {
    checkNativeSize(imageSize, this.imageSize, 'imageSize');
    return this.steps.map(({ kind, size, tokens }) => ({ kind, size: [...size], tokens }));
  }

  /** Algorithm 1 on images in [−1, 1] (decomposed in [0, 1]); order 0 skips the decomposition, as VAR. */
  async encode(images_BHWC: tf.Tensor4D): Promise<TokenPlan> {
    checkImageSize(images_BHWC, this.imageSize);
    let encoding: BaseDetailEncoding;
    if (this.order === 0) {
      const f_BHWC = this.vae.encode(images_BHWC);
      try {
        encoding = this.baseDetail.encodeLatents({ fBase: f_BHWC, fDetails: [] });
      } finally {
        f_BHWC.dispose();
      }
    } else {
      const unit_BHWC = tf.tidy(() => tf.div(tf.add(images_BHWC, 1), 2) as tf.Tensor4D);
      try {
        encoding = await this.baseDetail.encodeImage(this.vae, unit_BHWC, { order: this.order, decomposeOptions: this.decomposeOptions });
      } finally {
        unit_BHWC.dispose();
      }
    }
    return keepSteps(encoding);
  }

  /** Algorithm 1 on latents: f_{B_n} and the n detail latents f_{D_k} (finest first). */
  encodeLatents(latents: BaseDetailLatents): TokenPlan {
    const details: unknown = latents?.fDetails;
    if (Array.isArray(details) && details.length !== this.order) {
      throw new InvalidArgumentError('latents.fDetails', `${this.order} detail latents (the order)`, `${details.length}`);
    }
    return keepSteps(this.baseDetail.encodeLatents(latents));
  }

  /** The decoder's input f̂ = Σ_k Phi_k(z_k) [B, h, w, Cvae] of a complete plan (Algorithm 2). */
  planToLatent(plan: TokenPlan): tf.Tensor4D {
    return this.baseDetail.idxToFhat(this.baseDetailPlan(plan, true));
  }

  decode(plan: TokenPlan): tf.Tensor4D {
    const bdPlan = this.baseDetailPlan(plan, true);
    return tf.tidy(() => this.vae.fhatToImage(this.baseDetail.idxToFhat(bdPlan)));
  }

  teacherForcing(plan: TokenPlan): tf.Tensor3D {
    return this.baseDetail.teacherForcingInput(this.baseDetailPlan(plan, true));
  }

  /** area(f̂, next scale) before a base step, f̂ itself before a detail step; f̂ accumulated in step order from zeros. */
  nextInput(plan: TokenPlan, nextSize: readonly [number, number]): tf.Tensor3D {
    const { steps } = this.baseDetailPlan(plan, false);
    const next = checkSize(nextSize, 'nextSize');
    const spec = this.steps[steps.length];
    if (spec === undefined || spec.size[0] !== next[0] || spec.size[1] !== next[1]) {
      const expected = spec === undefined ? 'no further step (the plan is complete)' : `step ${steps.length}'s ${spec.size.join('×')}`;
      throw new InvalidArgumentError('nextSize', expected, next.join('×'));
    }
    const b = steps[0]!.idx_Bl.shape[0];
    return tf.tidy(() => {
      const fhat_BHWC = this.partialFhat(steps);
      const input_BhwC = spec.kind === 'base' ? resize(fhat_BHWC, next, 'area') : fhat_BHWC;
      return tf.reshape(input_BhwC, [b, next[0] * next[1], this.latentChannels]);
    });
  }

  /** The image of a plan so far (any non-empty prefix of the schedule): the decoder on the f̂ accumulated so far. */
  preview(plan: TokenPlan): tf.Tensor4D {
    const { steps } = this.baseDetailPlan(plan, false, this.steps.length);
    return tf.tidy(() => this.vae.fhatToImage(this.partialFhat(steps)));
  }

  /** Step `step`'s term of f̂ for code weights: a base step's Phi(up(weights @ E)), a detail step's Phi(weights @ E). */
  stepTerm(step: number, weights_BlV: tf.Tensor3D): tf.Tensor4D {
    checkStepWeights(step, weights_BlV, this.steps, this.vocabSize);
    const spec = this.steps[step]!;
    const [b, l, v] = weights_BlV.shape;
    const sizes = this.baseDetail.basePatchNums;
    return tf.tidy(() => {
      const h_BhwC = tf.reshape(tf.matMul(tf.reshape(weights_BlV, [b * l, v]), this.quantizer.embedding_VC), [b, ...spec.size, this.latentChannels]) as tf.Tensor4D;
      return spec.kind === 'base'
        ? this.quantizer.scaleTerm(spec.scale, h_BhwC, sizes)
        : this.quantizer.scaleTerm(this.baseDetail.detailPhiScale, h_BhwC, sizes.map(() => this.baseDetail.latentSize));
    });
  }

  /** area(f̂) before a base step, f̂ itself before a detail step, as `nextInput` computes them from a plan's f̂. */
  inputFromLatent(step: number, fhat_BHWC: tf.Tensor4D): tf.Tensor3D {
    checkNumber(step, 'step', { integer: true, min: 1, max: this.steps.length - 1 });
    checkLatent(fhat_BHWC, this.baseDetail.latentSize, this.latentChannels);
    const spec = this.steps[step]!;
    const [h, w] = spec.size;
    return tf.tidy(() => {
      const input_BhwC = spec.kind === 'base' ? resize(fhat_BHWC, [h, w], 'area') : fhat_BHWC;
      return tf.reshape(input_BhwC, [fhat_BHWC.shape[0], h * w, this.latentChannels]) as tf.Tensor3D;
    });
  }

  decodeLatent(fhat_BHWC: tf.Tensor4D): tf.Tensor4D {
    checkLatent(fhat_BHWC, this.baseDetail.latentSize, this.latentChannels);
    return this.vae.fhatToImage(fhat_BHWC);
  }

  /** f̂ accumulated in step order from zeros: base steps at their scale, detail steps at full resolution. */
  private partialFhat(steps: readonly BaseDetailStep[]): tf.Tensor4D {
    const [lh, lw] = this.baseDetail.latentSize;
    const sizes = this.baseDetail.basePatchNums;
    const fullResolution = sizes.map(() => this.baseDetail.latentSize);
    return tf.tidy(() =>
      steps.reduce<tf.Tensor4D>((sum, step) => {
        const term =
          step.kind === 'base'
            ? this.quantizer.scaleTerm(step.scale, this.quantizer.embed(step.idx_Bl, step.size), sizes)
            : this.quantizer.scaleTerm(this.baseDetail.detailPhiScale, this.quantizer.embed(step.idx_Bl, [lh, lw]), fullResolution);
        return tf.add(sum, term);
      }, tf.zeros([steps[0]!.idx_Bl.shape[0], lh, lw, this.latentChannels])),
    );
  }

  dispose(): void {
    this.vae.dispose();
    this.quantizer.dispose();
  }

  /** The plan as the base/detail quantizer reads it: complete, or a prefix of at most `maxSteps` steps. */
  private baseDetailPlan(plan: TokenPlan, complete: boolean, maxSteps = this.steps.length - 1): BaseDetailPlan {
    const count = this.steps.length;
    const { steps } = checkPlanForm(plan, 'plan', complete ? { minSteps: count, maxSteps: count } : { maxSteps });
    checkPlanAgainstSchedule(steps, this.steps, 'plan');
    return {
      steps: steps.map((step, i): BaseDetailStep => {
        const spec = this.steps[i]!;
        const size: [number, number] = [...spec.size];
        return spec.kind === 'base'
          ? { kind: 'base', scale: spec.scale, size, idx_Bl: step.idx_Bl }
          : { kind: 'detail', factor: spec.factor, size, idx_Bl: step.idx_Bl };
      }),
    };
  }
}

/** The token steps of an encoding; the latents and residuals that come with it are freed. */
function keepSteps(encoding: BaseDetailEncoding): TokenPlan {
  const { steps, ...rest } = encoding;
  tf.dispose(rest);
  return { steps };
}
