import * as tf from '@tensorflow/tfjs-core';
import {
  checkTensor,
  describeShape,
  describeValue,
  InvalidArgumentError,
  ShapeError,
  type TensorSource,
} from '@nextdetail/core';
import { GroundTruthMultiScaleQuantizer } from './quantizer/groundTruthMultiScale.js';
import { type PatchNums, type PatchSizes, toPatchSizes } from './quantizer/patchNums.js';
import { checkImages, checkPlanForm, checkSize, describeStepForm, type GridStep, type StepSpec, type TokenPlan, type Tokenizer } from './tokenizer.js';
import { FlexVae } from './vqvae/flexVae.js';
import type { FlexVaeConfig } from './vqvae/flexVaeConfig.js';

/** FlexVAR's 10-step inference schedule at 256 px (reference digest §2.6, "10"). */
export const FLEXVAR_DEFAULT_PATCH_NUMS: PatchNums = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];

export interface FlexVarTokenizerConfig {
  /** The CNN (default: `FlexVAE.pth`'s LlamaGen VQ-16). */
  vae?: FlexVaeConfig;
  /** The default schedule, coarse to fine; its last entry times the downsampling factor is `imageSize`. */
  patchNums?: PatchNums;
}

/** `FlexVAE.pth` is `{'model': state_dict}`; a flattened export keeps `model.` in every name. */
const CODEBOOK_PREFIXES = ['', 'model.'];

/**
 * FlexVAR's tokenizer: the LlamaGen VQ-16 CNN and the scalable ground-truth multi-scale quantizer. Every scale is
 * the nearest normalised code of area(h) at its size, independently of the others; the transformer's input for the
 * next scale is the current scale's normalised embedding map bicubic-resized to it; only one scale is decoded (the
 * last by `decode`, any by `decodeStep`), without a clamp. Schedules are free: `encode` takes any list of [h, w].
 */
// jiaosiyu1999/FlexVAR@04462cb:trainer.py encode_var_wo_firstL; models/flexvar.py autoregressive_infer_cfg;
// models/vq_llama.py VQModel.decode_code
export class FlexVarTokenizer implements Tokenizer {
  readonly family = 'flexvar' as const;
  readonly vocabSize: number;
  readonly latentChannels: number;
  readonly downsampleFactor: number;
  readonly imageSize: [number, number];
  /** The default schedule as [h, w] pairs. */
  readonly patchNums: PatchSizes;

  private constructor(
    readonly vae: FlexVae,
    readonly quantizer: GroundTruthMultiScaleQuantizer,
    patchNums: PatchSizes,
  ) {
    this.vocabSize = quantizer.vocabSize;
    this.latentChannels = quantizer.cvae;
    this.downsampleFactor = vae.downsampleFactor;
    this.patchNums = patchNums;
    const [lh, lw] = patchNums[patchNums.length - 1]!;
    this.imageSize = [lh * this.downsampleFactor, lw * this.downsampleFactor];
  }

  /** Reads `FlexVAE.pth` (opened with readPytorch, or a flat source whose names start with `model.`). */
  static async fromStateDict(source: TensorSource, config: FlexVarTokenizerConfig = {}): Promise<FlexVarTokenizer> {
    if (config === null || typeof config !== 'object') throw new InvalidArgumentError('config', 'an object', describeValue(config));
    const patchNums = toPatchSizes(config.patchNums ?? FLEXVAR_DEFAULT_PATCH_NUMS, 'config.patchNums');
    const vae = await FlexVae.fromStateDict(source, config.vae);
    try {
      const keys = new Set(source.keys());
      const prefix = CODEBOOK_PREFIXES.find((p) => keys.has(`${p}quantize.embedding.weight`)) ?? '';
      const codebook = `${prefix}quantize.embedding.weight`;
      const dim = vae.config.codebookEmbedDim;
      if (keys.has(codebook) && source.info(codebook).shape[1] !== dim) {
        throw new ShapeError(codebook, `[V, ${dim}] (config.vae.codebookEmbedDim)`, describeShape(source.info(codebook).shape));
      }
      return new FlexVarTokenizer(vae, await GroundTruthMultiScaleQuantizer.fromStateDict(source, { prefix }), patchNums);
    } catch (err) {
      vae.dispose();
      throw err;
    }
  }

  /**
   * The default schedule for images of `imageSize`: as configured at the native size; for another size see scalesFor
   * (it starts at 1×1 and ends exactly at the target latent). FlexVAR itself leaves schedules to the user; `encode`
   * takes any.
   */
  schedule(imageSize: readonly [number, number] = this.imageSize): StepSpec[] {
    const [H, W] = checkSize(imageSize, 'imageSize');
    const f = this.downsampleFactor;
    if (H % f !== 0 || W % f !== 0) {
      throw new InvalidArgumentError('imageSize', `multiples of the downsampling factor ${f}`, `${H}×${W}`);
    }
    return toSpecs(this.scalesFor([H / f, W / f]));
  }

  /** Images → plan with the default schedule for their size, or `patchNums`. */
  async encode(images_BHWC: tf.Tensor4D, { patchNums }: { patchNums?: PatchNums } = {}): Promise<TokenPlan> {
    checkImages(images_BHWC, this.downsampleFactor);
    const h_BHWC = this.vae.encode(images_BHWC);
    try {
      return this.encodeLatent(h_BHWC, { patchNums });
    } finally {
      h_BHWC.dispose();
    }
  }

  /** A latent h = quant_conv(encoder(img)) [B, h, w, C] → plan (default schedule: the one for its size). */
  encodeLatent(h_BHWC: tf.Tensor4D, { patchNums }: { patchNums?: PatchNums } = {}): TokenPlan {
    checkTensor(h_BHWC, 'h_BHWC', { rank: 4, dtype: 'float32' });
    const sizes = patchNums === undefined ? this.scalesFor([h_BHWC.shape[1], h_BHWC.shape[2]]) : toPatchSizes(patchNums, 'patchNums');
    const idx_Bl = this.quantizer.encode(h_BHWC, sizes);
    return { steps: idx_Bl.map((idx, si) => ({ kind: 'scale', size: [...sizes[si]!], idx_Bl: idx })) };
  }

  /** The decoder's input: the last step's normalised embedding map [B, h, w, C]. */
  planToLatent(plan: TokenPlan): tf.Tensor4D {
    const steps = this.gridSteps(plan, 1);
    const last = steps[steps.length - 1]!;
    return this.quantizer.reconstruct(last.idx_Bl, last.size);
  }

  /** The last step's image (decode_code: post_quant_conv, decoder, no clamp), [B, h·f, w·f, 3]. */
  decode(plan: TokenPlan): tf.Tensor4D {
    const steps = this.gridSteps(plan, 1);
    return this.decodeStep(steps[steps.length - 1]!);
  }

  /** The image of the plan so far: its last scale decoded (every FlexVAR step is a whole image). */
  preview(plan: TokenPlan): tf.Tensor4D {
    return this.decode(plan);
  }

  /** The image of any single scale, [B, h·f, w·f, 3]: FlexVAR decodes one scale, whichever it is. */
  decodeStep(step: GridStep): tf.Tensor4D {
    const [checked] = this.gridSteps({ steps: [step] }, 1, 'step');
    return tf.tidy(() => this.vae.decode(this.quantizer.reconstruct(checked!.idx_Bl, checked!.size)));
  }

  teacherForcing(plan: TokenPlan): tf.Tensor3D {
    const steps = this.gridSteps(plan, 2);
    return this.quantizer.teacherForcingInput(
      steps.map((s) => s.idx_Bl),
      steps.map((s) => s.size),
    );
  }

  /** bicubic(normalize(E)[ids of the plan's last scale], nextSize), row-major. */
  nextInput(plan: TokenPlan, nextSize: readonly [number, number]): tf.Tensor3D {
    const steps = this.gridSteps(plan, 1);
    const last = steps[steps.length - 1]!;
    return this.quantizer.nextInput(last.idx_Bl, last.size, checkSize(nextSize, 'nextSize'));
  }

  dispose(): void {
    this.vae.dispose();
    this.quantizer.dispose();
  }

  /**
   * The configured schedule moved to a latent of [lh, lw]: each scale's long side scaled by target / configured long
   * side (rounded, within 1 … target), a configured 1×1 kept at 1×1 (FlexVAR's schedules start at the 1×1 class token:
   * digest §2.6, and FlexVAR §4.4 for other aspect ratios), the short side following the target's aspect ratio (≥ 1),
   * the last scale exactly the target, repeated sizes dropped — the grids @nextdetail/samplers' scaleSchedule gives a
   * long side.
   */
  private scalesFor([lh, lw]: readonly [number, number]): PatchSizes {
    const [ch, cw] = this.patchNums[this.patchNums.length - 1]!;
    if (lh === ch && lw === cw) return this.patchNums;
    const long = Math.max(lh, lw);
    const configured = Math.max(ch, cw);
    const grid = (side: number): [number, number] =>
      side === long
        ? [lh, lw]
        : [lh === long ? side : Math.max(1, Math.round((side * lh) / long)), lw === long ? side : Math.max(1, Math.round((side * lw) / long))];
    const scaled = this.patchNums.map(([h, w], i): [number, number] => {
      if (i === this.patchNums.length - 1) return [lh, lw];
      if (h === 1 && w === 1) return [1, 1];
      return grid(Math.min(long, Math.max(1, Math.round((Math.max(h, w) * long) / configured))));
    });
    return scaled.filter((s, i) => i === 0 || s[0] !== scaled[i - 1]![0] || s[1] !== scaled[i - 1]![1]);
  }

  /** A plan of at least `min` scale steps, each with h·w ids. */
  private gridSteps(plan: TokenPlan, min: number, argument = 'plan'): GridStep[] {
    const { steps } = checkPlanForm(plan, argument, { minSteps: min });
    const where = (i: number) => (argument === 'step' ? 'step' : `${argument}.steps[${i}]`);
    return steps.map((step, i) => {
      const size: unknown = step.size;
      const ok = Array.isArray(size) && size.length === 2 && size.every((n) => Number.isInteger(n) && n >= 1);
      if (step.kind !== 'scale' || !ok) {
        throw new InvalidArgumentError(where(i), 'a scale step with an [h, w] grid', describeStepForm(step));
      }
      const [h, w] = step.size;
      if (step.idx_Bl.shape[1] !== h * w) {
        throw new ShapeError(`${where(i)}.idx_Bl`, `[${step.idx_Bl.shape[0]}, ${h * w}] (${h}×${w} tokens)`, describeShape(step.idx_Bl.shape));
      }
      return step as GridStep;
    });
  }
}

function toSpecs(sizes: PatchSizes): StepSpec[] {
  return sizes.map(([h, w]) => ({ kind: 'scale', size: [h, w], tokens: h * w }));
}
