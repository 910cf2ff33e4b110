import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, InvalidArgumentError, resize, type TensorSource } from '@nextdetail/core';
import { MultiScaleResidualQuantizer, type MultiScaleResidualQuantizerConfig } from './quantizer/multiScaleResidual.js';
import type { PatchNums } from './quantizer/patchNums.js';
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
import { VarVqvae } from './vqvae/varVqvae.js';
import { type ResolvedVarVqvaeConfig, type VarVqvaeConfig, varVqvaeConfigFromReference } from './vqvae/varVqvaeConfig.js';

export interface VarTokenizerConfig {
  vae: VarVqvaeConfig;
  quantizer: Omit<MultiScaleResidualQuantizerConfig, 'prefix'>;
}

/** The two configs from the reference's `VQVAE(...)` keyword arguments (vocab_size, z_channels, ch, v_patch_nums, …). */
export function varTokenizerConfigFromReference(kwargs: Readonly<Record<string, unknown>>): VarTokenizerConfig {
  const vae: ResolvedVarVqvaeConfig = varVqvaeConfigFromReference(kwargs);
  const patchNums = kwargs.v_patch_nums;
  if (!Array.isArray(patchNums)) {
    throw new InvalidArgumentError('kwargs.v_patch_nums', 'an array of patch sizes', JSON.stringify(patchNums));
  }
  return {
    vae,
    quantizer: {
      vocabSize: vae.vocabSize,
      cvae: vae.zChannels,
      patchNums: patchNums as PatchNums,
      // VQVAE's own defaults where the arguments leave them out.
      quantResi: (kwargs.quant_resi as number | undefined) ?? 0.5,
      shareQuantResi: (kwargs.share_quant_resi as number | undefined) ?? 4,
    },
  };
}

/**
 * VAR's tokenizer: the VQVAE CNN and the multi-scale residual quantizer behind the shared Tokenizer interface. One
 * state dict holds both (`vae_ch160v4096z32.pth`). The schedule is the quantizer's `patchNums`, so images must be
 * `imageSize` (the last patch size times the downsampling factor).
 */
// FoundationVision/VAR@78b9539:models/vqvae.py VQVAE.img_to_idxBl, idxBl_to_img; models/quant.py
// VectorQuantizer2.idxBl_to_var_input, get_next_autoregressive_input
export class VarTokenizer implements LatentStepTokenizer {
  readonly family = 'var' as const;
  readonly vocabSize: number;
  readonly latentChannels: number;
  readonly downsampleFactor: number;
  readonly imageSize: [number, number];

  private constructor(
    readonly vae: VarVqvae,
    readonly quantizer: MultiScaleResidualQuantizer,
  ) {
    this.vocabSize = quantizer.vocabSize;
    this.latentChannels = quantizer.cvae;
    this.downsampleFactor = vae.downsampleFactor;
    const [lh, lw] = quantizer.patchNums[quantizer.patchNums.length - 1]!;
    this.imageSize = [lh * this.downsampleFactor, lw * this.downsampleFactor];
  }

  static async fromStateDict(source: TensorSource, config: VarTokenizerConfig): Promise<VarTokenizer> {
    const vae = await VarVqvae.fromStateDict(source, config.vae);
    try {
      return new VarTokenizer(vae, await MultiScaleResidualQuantizer.fromStateDict(source, config.quantizer));
    } catch (err) {
      vae.dispose();
      throw err;
    }
  }

  /** VAR's scales; only the native image size has one (the quantizer's schedule ends at the latent). */
  schedule(imageSize: readonly [number, number] = this.imageSize): StepSpec[] {
    checkNativeSize(imageSize, this.imageSize, 'imageSize');
    return this.quantizer.patchNums.map(([h, w]) => ({ kind: 'scale', size: [h, w], tokens: h * w }));
  }

  async encode(images_BHWC: tf.Tensor4D): Promise<TokenPlan> {
    checkImageSize(images_BHWC, this.imageSize);
    const f_BHWC = this.vae.encode(images_BHWC);
    try {
      return this.encodeLatent(f_BHWC);
    } finally {
      f_BHWC.dispose();
    }
  }

  /** The plan of a latent f = quant_conv(encoder(img)), [B, h, w, Cvae] with [h, w] the last patch size. */
  encodeLatent(f_BHWC: tf.Tensor4D): TokenPlan {
    const { idx_Bl } = this.quantizer.encode(f_BHWC);
    return { steps: idx_Bl.map((idx, si) => ({ kind: 'scale', size: [...this.quantizer.patchNums[si]!], idx_Bl: idx })) };
  }

  /** The decoder's input f̂ [B, h, w, Cvae] of a complete plan. */
  planToLatent(plan: TokenPlan): tf.Tensor4D {
    return this.quantizer.idxToFhat(this.ids(plan, true));
  }

  decode(plan: TokenPlan): tf.Tensor4D {
    const ids = this.ids(plan, true);
    return tf.tidy(() => this.vae.fhatToImage(this.quantizer.idxToFhat(ids)));
  }

  teacherForcing(plan: TokenPlan): tf.Tensor3D {
    return this.quantizer.teacherForcingInput(this.ids(plan, true));
  }

  /** area(f̂ of the plan's scales, next scale), with f̂ accumulated from zeros as in the reference. */
  nextInput(plan: TokenPlan, nextSize: readonly [number, number]): tf.Tensor3D {
    const ids = this.ids(plan, false);
    const sizes = this.quantizer.patchNums;
    const next = checkSize(nextSize, 'nextSize');
    const want = sizes[ids.length];
    if (want === undefined || want[0] !== next[0] || want[1] !== next[1]) {
      const expected = want === undefined ? 'no further step (the plan is complete)' : `scale ${ids.length}'s ${want.join('×')}`;
      throw new InvalidArgumentError('nextSize', expected, next.join('×'));
    }
    const b = ids[0]!.shape[0];
    return tf.tidy(() => tf.reshape(resize(this.partialFhat(ids), next, 'area'), [b, next[0] * next[1], this.latentChannels]));
  }

  /** Scale si's term Phi_si(up(weights @ E)) of f̂ (VAR's more_smooth embedding at that scale). */
  stepTerm(step: number, weights_BlV: tf.Tensor3D): tf.Tensor4D {
    const { size } = checkStepWeights(step, weights_BlV, this.schedule(), this.vocabSize);
    const [b, l, v] = weights_BlV.shape;
    return tf.tidy(() => {
      const h_BhwC = tf.reshape(tf.matMul(tf.reshape(weights_BlV, [b * l, v]), this.quantizer.embedding_VC), [b, ...size, this.latentChannels]);
      return this.quantizer.scaleTerm(step, h_BhwC as tf.Tensor4D);
    });
  }

  /** area(f̂, scale `step`'s size), as `nextInput` computes it from a plan's f̂. */
  inputFromLatent(step: number, fhat_BHWC: tf.Tensor4D): tf.Tensor3D {
    const sizes = this.quantizer.patchNums;
    checkNumber(step, 'step', { integer: true, min: 1, max: sizes.length - 1 });
    checkLatent(fhat_BHWC, sizes[sizes.length - 1]!, this.latentChannels);
    const [h, w] = sizes[step]!;
    return tf.tidy(() => tf.reshape(resize(fhat_BHWC, [h, w], 'area'), [fhat_BHWC.shape[0], h * w, this.latentChannels]) as tf.Tensor3D);
  }

  decodeLatent(fhat_BHWC: tf.Tensor4D): tf.Tensor4D {
    const sizes = this.quantizer.patchNums;
    checkLatent(fhat_BHWC, sizes[sizes.length - 1]!, this.latentChannels);
    return this.vae.fhatToImage(fhat_BHWC);
  }

  /** The image of a plan so far (any non-empty prefix of the schedule): the decoder on the f̂ accumulated so far. */
  preview(plan: TokenPlan): tf.Tensor4D {
    const count = this.schedule().length;
    const { steps } = checkPlanForm(plan, 'plan', { maxSteps: count });
    checkPlanAgainstSchedule(steps, this.schedule(), 'plan');
    return tf.tidy(() => this.vae.fhatToImage(this.partialFhat(steps.map((s) => s.idx_Bl))));
  }

  dispose(): void {
    this.vae.dispose();
    this.quantizer.dispose();
  }

  /** f̂ = Σ Phi(up(E[idx_si])) over the given first scales, from zeros as in the reference, [B, h, w, Cvae]. */
  private partialFhat(ids: readonly tf.Tensor2D[]): tf.Tensor4D {
    const sizes = this.quantizer.patchNums;
    const [lh, lw] = sizes[sizes.length - 1]!;
    return tf.tidy(() =>
      ids.reduce<tf.Tensor4D>(
        (sum, idx, si) => tf.add(sum, this.quantizer.scaleTerm(si, this.quantizer.embed(idx, sizes[si]!))),
        tf.zeros([ids[0]!.shape[0], lh, lw, this.latentChannels]),
      ),
    );
  }

  /** The ids of a plan whose steps follow the schedule: all of them (`complete`), or a proper prefix. */
  private ids(plan: TokenPlan, complete: boolean): tf.Tensor2D[] {
    const schedule = this.schedule();
    const count = schedule.length;
    const { steps } = checkPlanForm(plan, 'plan', complete ? { minSteps: count, maxSteps: count } : { maxSteps: count - 1 });
    checkPlanAgainstSchedule(steps, schedule, 'plan');
    return steps.map((s) => s.idx_Bl);
  }
}
