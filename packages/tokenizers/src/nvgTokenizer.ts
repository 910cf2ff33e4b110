import * as tf from '@tensorflow/tfjs-core';
import {
  checkTensor,
  describeShape,
  describeValue,
  InvalidArgumentError,
  ShapeError,
  type TensorSource,
} from '@nextdetail/core';
import { GranularityQuantizer } from './quantizer/granularityQuantizer.js';
import {
  checkImages,
  checkPlanForm,
  checkSize,
  describeStepForm,
  type GranularityStep,
  type StepSpec,
  type TokenPlan,
  type Tokenizer,
} from './tokenizer.js';
import { NvgAutoencoder } from './vqvae/nvgAutoencoder.js';
import type { NvgAutoencoderConfig } from './vqvae/nvgAutoencoderConfig.js';

export interface NvgTokenizerConfig {
  /** The CNN (default: NVG's released `ckpt/ae.ckpt` geometry). */
  vae?: NvgAutoencoderConfig;
}

/** `ckpt/ae.ckpt` is a Lightning file, `{'state_dict': …}`; a flattened export keeps `state_dict.` in every name. */
const CODEBOOK_PREFIXES = ['', 'state_dict.'];

export interface NvgEncodeOptions {
  /**
   * A structure map int32 [B, S, H·W] to use instead of clustering the latent: stage-s labels in [0, 2^s), each
   * the parent ⌊l/2⌋ of the next stage's label. Needed for latents whose H·W is not 2^(S − 1).
   */
  labels_BSP?: tf.Tensor3D;
}

/**
 * NVG's tokenizer (NVG paper §3.1, reference digest §3.2; clean-room): the VQ autoencoder and the multi-granularity
 * quantizer. A plan has one granularity step per stage s with 2^s cluster tokens and the stage's structure map. The
 * transformer's input for stage s is the canvas Σ_{t<s} Phi_t(E[tokens_t]) at every position of the latent grid
 * (row-major), so `teacherForcing` is the canvases before stages 1 … S − 1 (stage 0 starts from a learnt embedding);
 * `trainingInput` gives NVG's own [B, S, P, C + 2] layout.
 */
export class NvgTokenizer implements Tokenizer {
  readonly family = 'nvg' as const;
  readonly vocabSize: number;
  readonly latentChannels: number;
  readonly downsampleFactor: number;
  readonly imageSize: [number, number];
  /** S, the number of stages. */
  readonly stages: number;

  private constructor(
    readonly vae: NvgAutoencoder,
    readonly quantizer: GranularityQuantizer,
  ) {
    this.vocabSize = quantizer.vocabSize;
    this.latentChannels = quantizer.cvae;
    this.downsampleFactor = vae.downsampleFactor;
    this.stages = quantizer.stages;
    // The most nearly square grid of 2^(S − 1) positions (16×16 for NVG's nine stages).
    const h = 2 ** Math.floor((this.stages - 1) / 2);
    const w = 2 ** (this.stages - 1) / h;
    this.imageSize = [h * this.downsampleFactor, w * this.downsampleFactor];
  }

  /** Reads `ckpt/ae.ckpt` (opened with readPytorch, or a flat source whose names start with `state_dict.`). */
  static async fromStateDict(source: TensorSource, config: NvgTokenizerConfig = {}): Promise<NvgTokenizer> {
    if (config === null || typeof config !== 'object') throw new InvalidArgumentError('config', 'an object', describeValue(config));
    const vae = await NvgAutoencoder.fromStateDict(source, config.vae);
    try {
      const keys = new Set(source.keys());
      const prefix = CODEBOOK_PREFIXES.find((p) => keys.has(`${p}quantize.embedding.weight`)) ?? '';
      const quantizer = await GranularityQuantizer.fromStateDict(source, { prefix });
      if (quantizer.cvae !== vae.config.embedDim) {
        quantizer.dispose();
        throw new ShapeError(`${prefix}quantize.embedding.weight`, `[V, ${vae.config.embedDim}] (config.vae.embedDim)`, `[${quantizer.vocabSize}, ${quantizer.cvae}]`);
      }
      return new NvgTokenizer(vae, quantizer);
    } catch (err) {
      vae.dispose();
      throw err;
    }
  }

  /** One granularity step per stage on the latent grid of `imageSize`, stage s with 2^s clusters. */
  schedule(imageSize: readonly [number, number] = this.imageSize): StepSpec[] {
    const [H, W] = checkSize(imageSize, 'imageSize');
    const f = this.downsampleFactor;
    const positions = 2 ** (this.stages - 1);
    if (H % f !== 0 || W % f !== 0 || (H / f) * (W / f) < positions) {
      const expected = `multiples of ${f} whose latent has at least 2^(S − 1) = ${positions} positions`;
      throw new InvalidArgumentError('imageSize', expected, `${H}×${W}`);
    }
    return Array.from({ length: this.stages }, (_, s) => ({ kind: 'granularity', size: [H / f, W / f], tokens: 2 ** s }));
  }

  async encode(images_BHWC: tf.Tensor4D, options: NvgEncodeOptions = {}): Promise<TokenPlan> {
    checkImages(images_BHWC, this.downsampleFactor);
    const f_BHWC = this.vae.encode(images_BHWC);
    try {
      return await this.encodeLatent(f_BHWC, options);
    } finally {
      f_BHWC.dispose();
    }
  }

  /** The encoder's output f [B, H, W, C] → plan, with its own structure map (clustering) or `labels_BSP`. */
  async encodeLatent(f_BHWC: tf.Tensor4D, { labels_BSP }: NvgEncodeOptions = {}): Promise<TokenPlan> {
    const encoding = await this.quantizer.encode(f_BHWC, labels_BSP === undefined ? {} : { labels_BSP });
    try {
      return this.planOf(encoding.tokens_BSP, encoding.labels_BSP, [f_BHWC.shape[1], f_BHWC.shape[2]]);
    } finally {
      tf.dispose(encoding);
    }
  }

  /**
   * The plan of per-position tokens and structure maps of every stage (int32 [B, S, H·W] each, row-major over the
   * latent grid `size`): what NVG's generation loop produces. The inputs are left alone.
   */
  planFromPositions(tokens_BSP: tf.Tensor3D, labels_BSP: tf.Tensor3D, size: readonly [number, number]): TokenPlan {
    const [h, w] = checkSize(size, 'size');
    for (const [t, name] of [[tokens_BSP, 'tokens_BSP'], [labels_BSP, 'labels_BSP']] as const) {
      checkTensor(t, name, { rank: 3, dtype: 'int32' });
      if (t.shape[1] !== this.stages || t.shape[2] !== h * w || t.shape[0] !== tokens_BSP.shape[0]) {
        throw new ShapeError(name, `[B, ${this.stages}, ${h * w}] (batch, stages, positions of ${h}×${w})`, describeShape(t.shape));
      }
    }
    return this.planOf(tokens_BSP, labels_BSP, [h, w]);
  }

  private planOf(tokens_BSP: tf.Tensor, labels_BSP: tf.Tensor, [h, w]: readonly [number, number]): TokenPlan {
    const b = tokens_BSP.shape[0]!;
    const steps = tf.tidy(() => {
      const labels_SBP = (tf.split(labels_BSP, this.stages, 1) as tf.Tensor3D[]).map((l) => tf.reshape(l, [b, h * w]) as tf.Tensor2D);
      const tokens_SBP = (tf.split(tokens_BSP, this.stages, 1) as tf.Tensor3D[]).map((t) => tf.reshape(t, [b, h * w]) as tf.Tensor2D);
      return labels_SBP.map(
        (label_BP, s): GranularityStep => ({
          kind: 'granularity',
          size: [h, w],
          idx_Bl: clusterTokens(tokens_SBP[s]!, label_BP, 2 ** s),
          clusters: 2 ** s,
          labels_Bl: label_BP,
        }),
      );
    });
    return { steps };
  }

  /** f̂ = Σ_s Phi_s(E[tokens_s]) [B, H, W, C] of a complete plan: the decoder's input. */
  planToLatent(plan: TokenPlan): tf.Tensor4D {
    const { steps, size } = this.granularitySteps(plan, true);
    return tf.tidy(() => this.quantizer.tokensToFhat(positionTokens(steps), size));
  }

  /** clamp(decoder(f̂), −1, 1). */
  decode(plan: TokenPlan): tf.Tensor4D {
    const { steps, size } = this.granularitySteps(plan, true);
    return tf.tidy(() => this.vae.decode(this.quantizer.tokensToFhat(positionTokens(steps), size)));
  }

  /** The image of the plan so far: the decoder on the canvas after its stages (a plausible image at every stage). */
  preview(plan: TokenPlan): tf.Tensor4D {
    if (plan?.steps?.length === this.stages) return this.decode(plan);
    const size = plan?.steps?.[0]?.size;
    const canvas_BPC = this.nextInput(plan, size as [number, number]);
    const [b] = canvas_BPC.shape;
    const [h, w] = size!;
    try {
      return tf.tidy(() => this.vae.decode(tf.reshape(canvas_BPC, [b, h, w, this.latentChannels]) as tf.Tensor4D));
    } finally {
      canvas_BPC.dispose();
    }
  }

  /** NVG's training tensor [B, S, P, C + 2]: canvas before each stage, token id and label of every position. */
  trainingInput(plan: TokenPlan): tf.Tensor4D {
    const { steps, size } = this.granularitySteps(plan, true);
    return tf.tidy(() => this.quantizer.trainingInput(positionTokens(steps), stageLabels(steps), size));
  }

  /** The canvases before stages 1 … S − 1, [B, (S − 1)·H·W, C]. */
  teacherForcing(plan: TokenPlan): tf.Tensor3D {
    const { steps, size } = this.granularitySteps(plan, true);
    const [b] = steps[0]!.idx_Bl.shape;
    const p = size[0] * size[1];
    const c = this.latentChannels;
    return tf.tidy(() => {
      const input_BSPX = this.quantizer.trainingInput(positionTokens(steps), stageLabels(steps), size);
      const canvases_BSPC = tf.slice(input_BSPX, [0, 1, 0, 0], [b, this.stages - 1, p, c]);
      return tf.reshape(canvases_BSPC, [b, (this.stages - 1) * p, c]) as tf.Tensor3D;
    });
  }

  /**
   * The canvas after the plan's stages, [B, H·W, C]: what the content transformer reads at the next stage and the
   * structure path conditions on. `nextSize` is the latent grid (it does not change between stages).
   */
  nextInput(plan: TokenPlan, nextSize: readonly [number, number]): tf.Tensor3D {
    const { steps, size } = this.granularitySteps(plan, false);
    const next = checkSize(nextSize, 'nextSize');
    if (next[0] !== size[0] || next[1] !== size[1]) {
      throw new InvalidArgumentError('nextSize', `the latent grid ${size.join('×')} of the plan`, next.join('×'));
    }
    const k = steps.length;
    const [b] = steps[0]!.idx_Bl.shape;
    const p = size[0] * size[1];
    const c = this.latentChannels;
    return tf.tidy(() => {
      // Stages not generated yet get token 0 and label 0: trainingInput's canvas k only sums stages before k.
      const pad_BP = tf.zeros([b, p], 'int32') as tf.Tensor2D;
      const tokens_BSP = tf.stack([...tf.unstack(positionTokens(steps), 1), ...Array.from({ length: this.stages - k }, () => pad_BP)], 1);
      const labels_BSP = tf.stack([...tf.unstack(stageLabels(steps), 1), ...Array.from({ length: this.stages - k }, () => pad_BP)], 1);
      const input_BSPX = this.quantizer.trainingInput(tokens_BSP as tf.Tensor3D, labels_BSP as tf.Tensor3D, size);
      return tf.reshape(tf.slice(input_BSPX, [0, k, 0, 0], [b, 1, p, c]), [b, p, c]) as tf.Tensor3D;
    });
  }

  dispose(): void {
    this.vae.dispose();
    this.quantizer.dispose();
  }

  /** Granularity steps 0 … k − 1 on one latent grid: all S (`complete`) or 1 … S − 1. */
  private granularitySteps(plan: TokenPlan, complete: boolean): { steps: GranularityStep[]; size: [number, number] } {
    const S = this.stages;
    const { steps, batch } = checkPlanForm(plan, 'plan', complete ? { minSteps: S, maxSteps: S } : { maxSteps: S - 1 });
    const first: unknown = steps[0]!.size;
    const size = checkSize(first, 'plan.steps[0].size');
    steps.forEach((step, s) => {
      const g = step as GranularityStep;
      const sameGrid = Array.isArray(g.size) && g.size[0] === size[0] && g.size[1] === size[1];
      if (g.kind !== 'granularity' || !sameGrid || g.clusters !== 2 ** s) {
        const expected = `a granularity step of ${size.join('×')} with ${2 ** s} clusters (stage ${s})`;
        throw new InvalidArgumentError(`plan.steps[${s}]`, expected, `${describeStepForm(step)}, ${describeValue(g.clusters)} clusters`);
      }
      if (g.idx_Bl.shape[1] !== 2 ** s) {
        throw new ShapeError(`plan.steps[${s}].idx_Bl`, `[${batch}, ${2 ** s}] (one token per cluster)`, describeShape(g.idx_Bl.shape));
      }
      checkTensor(g.labels_Bl, `plan.steps[${s}].labels_Bl`, { rank: 2, dtype: 'int32' });
      if (g.labels_Bl.shape[0] !== batch || g.labels_Bl.shape[1] !== size[0] * size[1]) {
        const expected = `[${batch}, ${size[0] * size[1]}] (a cluster per position of ${size.join('×')})`;
        throw new ShapeError(`plan.steps[${s}].labels_Bl`, expected, describeShape(g.labels_Bl.shape));
      }
    });
    return { steps: steps as GranularityStep[], size };
  }
}

/**
 * Each cluster's token from the per-position tokens: the largest token+1 among its members, minus 1 (all members share
 * one), and 0 for a cluster without members. Reductions over the last axis only (see GranularityQuantizer.encode).
 */
function clusterTokens(token_BP: tf.Tensor2D, label_BP: tf.Tensor2D, clusters: number): tf.Tensor2D {
  return tf.tidy(() => {
    const clusterIds_1K1 = tf.reshape(tf.range(0, clusters, 1, 'int32'), [1, clusters, 1]);
    const member_BKP = tf.cast(tf.equal(tf.expandDims(label_BP, 1), clusterIds_1K1), 'float32');
    const shifted_B1P = tf.expandDims(tf.add(tf.cast(token_BP, 'float32'), 1), 1);
    const best_BK = tf.max(tf.mul(member_BKP, shifted_B1P), 2);
    return tf.cast(tf.maximum(tf.sub(best_BK, 1), 0), 'int32') as tf.Tensor2D;
  });
}

/**
 * The token of every position at every stage, int32 [B, S, P]: each stage's cluster tokens gathered through its
 * structure map. Labels outside [0, clusters) are not checked (that would need a read-back).
 */
function positionTokens(steps: readonly GranularityStep[]): tf.Tensor3D {
  return tf.tidy(() => {
    const b = steps[0]!.idx_Bl.shape[0];
    const tokens_SBP = steps.map((step) => {
      const offset_B1 = tf.reshape(tf.range(0, b * step.clusters, step.clusters, 'int32'), [b, 1]);
      const idx_N: tf.Tensor = tf.reshape(step.idx_Bl, [b * step.clusters]);
      return tf.gather(idx_N, tf.add(step.labels_Bl, offset_B1)) as tf.Tensor2D;
    });
    return tf.stack(tokens_SBP, 1) as tf.Tensor3D;
  });
}

/** The structure map of every stage, int32 [B, S, P]. */
function stageLabels(steps: readonly GranularityStep[]): tf.Tensor3D {
  return tf.stack(steps.map((s) => s.labels_Bl), 1) as tf.Tensor3D;
}
