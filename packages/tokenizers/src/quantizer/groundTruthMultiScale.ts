import * as tf from '@tensorflow/tfjs-core';
import {
  checkTensor,
  describeShape,
  describeValue,
  InvalidArgumentError,
  loadStateDict,
  resize,
  ShapeError,
  type TensorSource,
} from '@nextdetail/core';
import { nearestCode } from './nearestCode.js';
import { describePatchSizes, type PatchNums, type PatchSizes, toPatchSize } from './patchNums.js';

const CODEBOOK = 'quantize.embedding.weight';

/**
 * FlexVAR's scalable ground-truth multi-scale quantizer on NHWC latents: every scale is quantised independently from
 * area(h) at its size (no residual, no Phi) against the l2-normalised codebook, and the transformer's input for a scale
 * is the bicubic up-sampling of the previous scale's quantised map, a whole coarser image rather than a residual. Only
 * one scale's map is ever decoded. Schedules are free: any number of scales, square sides or [h, w] pairs, any aspect
 * ratio, and sizes need not relate to the latent's.
 *
 * The caller owns every returned tensor; `dispose()` frees the codebook. Ids of non-finite latents are unspecified,
 * and ids outside [0, V) are not checked (that would need a read-back).
 */
// jiaosiyu1999/FlexVAR@04462cb:models/vq_llama.py VectorQuantizer (l2_norm=True), trainer.py encode_var_wo_firstL
export class GroundTruthMultiScaleQuantizer {
  readonly vocabSize: number;
  readonly cvae: number;

  private constructor(
    /** The row-wise l2-normalised codebook [V, Cvae], used for both lookup and embedding; owned by the quantizer. */
    readonly codebook_VC: tf.Tensor2D,
  ) {
    [this.vocabSize, this.cvae] = codebook_VC.shape;
  }

  /** Reads `quantize.embedding.weight` [V, Cvae] (sizes from the checkpoint) and keeps its normalised rows. */
  static async fromStateDict(
    source: TensorSource,
    { prefix = '' }: { prefix?: string } = {},
  ): Promise<GroundTruthMultiScaleQuantizer> {
    if (typeof prefix !== 'string') throw new InvalidArgumentError('prefix', 'a string', describeValue(prefix));
    const key = prefix + CODEBOOK;
    if (!source.keys().includes(key)) {
      throw new InvalidArgumentError('checkpoint', 'every parameter the model needs', `no ${key}`);
    }
    const { shape } = source.info(key);
    if (shape.length !== 2 || shape.some((d) => d < 1)) {
      throw new ShapeError(key, 'shape [V, Cvae]', `shape ${describeShape(shape)} in the checkpoint`);
    }
    const { tensors } = await loadStateDict(source, { [CODEBOOK]: { shape } }, { prefix });
    const raw_VC = tensors.get(CODEBOOK) as tf.Tensor2D;
    const codebook_VC = l2Normalize(raw_VC);
    raw_VC.dispose();
    return new GroundTruthMultiScaleQuantizer(codebook_VC);
  }

  /**
   * Ground-truth token ids of every scale of `scales` for the latent `h_BHWC`: int32 [B, h·w] per scale, row-major.
   * Each scale is the nearest normalised code of normalize(area(h_BHWC, scale)); the first index wins ties.
   */
  // jiaosiyu1999/FlexVAR@04462cb:trainer.py encode_var_wo_firstL; models/vq_llama.py VectorQuantizer (l2_norm=True)
  encode(h_BHWC: tf.Tensor4D, scales: PatchNums): tf.Tensor2D[] {
    checkTensor(h_BHWC, 'h_BHWC', { rank: 4, dtype: 'float32' });
    const [b, h, w, c] = h_BHWC.shape;
    if (c !== this.cvae || b < 1 || h < 1 || w < 1) {
      const expected = `[B ≥ 1, H ≥ 1, W ≥ 1, ${this.cvae}] (NHWC, Cvae = ${this.cvae})`;
      throw new ShapeError('h_BHWC', expected, describeShape(h_BHWC.shape));
    }
    const sizes = toScales(scales, 'scales', 1);
    return tf.tidy(() =>
      sizes.map(([ph, pw]) => {
        const z_NC = l2Normalize(tf.reshape(resize(h_BHWC, [ph, pw], 'area'), [b * ph * pw, c]) as tf.Tensor2D);
        return tf.reshape(nearestCode(z_NC, this.codebook_VC), [b, ph * pw]) as tf.Tensor2D;
      }),
    );
  }

  /** The normalised codebook rows of `idx_Bl` (int32 [B, h·w], row-major) laid out as a map [B, h, w, Cvae]. */
  embed(idx_Bl: tf.Tensor2D, scale: number | readonly [number, number]): tf.Tensor4D {
    const [ph, pw] = toPatchSize(scale, 'scale');
    this.checkIdx(idx_Bl, 'idx_Bl', [ph, pw]);
    return tf.tidy(() => tf.reshape(tf.gather(this.codebook_VC, idx_Bl), [idx_Bl.shape[0], ph, pw, this.cvae]));
  }

  /**
   * The transformer's teacher-forcing input [B, L − h₀·w₀, Cvae]: for every scale n but the last, its embedding
   * map bicubic-resized to scale n + 1, row-major, concatenated. Takes the ids of all scales; the last scale's are
   * not used.
   */
  // jiaosiyu1999/FlexVAR@04462cb:trainer.py encode_var_wo_firstL (x_BLCv_wo_first_l)
  teacherForcingInput(idx_Bl: readonly tf.Tensor2D[], scales: PatchNums): tf.Tensor3D {
    const sizes = toScales(scales, 'scales', 2);
    if (!Array.isArray(idx_Bl) || idx_Bl.length !== sizes.length) {
      const expected = `${sizes.length} tensors, one per scale of ${describePatchSizes(sizes)}`;
      throw new InvalidArgumentError('idx_Bl', expected, describeValue(idx_Bl));
    }
    this.checkIdx(idx_Bl[0], 'idx_Bl[0]', sizes[0]!);
    const b = idx_Bl[0]!.shape[0];
    idx_Bl.forEach((idx, si) => this.checkIdx(idx, `idx_Bl[${si}]`, sizes[si]!, b));
    return tf.tidy(() =>
      tf.concat(
        sizes.slice(1).map((next, n) => this.upsampledTokens(idx_Bl[n]!, sizes[n]!, next)),
        1,
      ),
    );
  }

  /**
   * One inference step: the next scale's input tokens [B, h'·w', Cvae], the embedding map of the ids `idx_Bl`
   * chosen at `scale` bicubic-resized to `nextScale`, row-major. Concatenated over a schedule they equal
   * teacherForcingInput.
   */
  // jiaosiyu1999/FlexVAR@04462cb:models/flexvar.py FlexVAR.autoregressive_infer_cfg (next_token_map)
  nextInput(
    idx_Bl: tf.Tensor2D,
    scale: number | readonly [number, number],
    nextScale: number | readonly [number, number],
  ): tf.Tensor3D {
    const size = toPatchSize(scale, 'scale');
    const next = toPatchSize(nextScale, 'nextScale');
    this.checkIdx(idx_Bl, 'idx_Bl', size);
    return this.upsampledTokens(idx_Bl, size, next);
  }

  /**
   * The decoder's input [B, h, w, Cvae] for the ids of one scale (decode_code before post_quant_conv): FlexVAR decodes
   * a single scale, usually the last, so no other scale contributes.
   */
  // jiaosiyu1999/FlexVAR@04462cb:models/vq_llama.py VectorQuantizer.get_codebook_entry
  reconstruct(idx_Bl: tf.Tensor2D, scale: number | readonly [number, number]): tf.Tensor4D {
    return this.embed(idx_Bl, scale);
  }

  dispose(): void {
    this.codebook_VC.dispose();
  }

  private upsampledTokens(
    idx_Bl: tf.Tensor2D,
    size: readonly [number, number],
    next: readonly [number, number],
  ): tf.Tensor3D {
    return tf.tidy(() => {
      const up_BhwC = resize(this.embed(idx_Bl, size), next, 'bicubic');
      return tf.reshape(up_BhwC, [idx_Bl.shape[0], next[0] * next[1], this.cvae]);
    });
  }

  private checkIdx(idx_Bl: unknown, argument: string, [ph, pw]: readonly [number, number], batch?: number): void {
    checkTensor(idx_Bl, argument, { rank: 2, dtype: 'int32' });
    const b = batch ?? idx_Bl.shape[0]!;
    if (idx_Bl.shape[0] !== b || idx_Bl.shape[1] !== ph * pw || b < 1) {
      const expected = `[${b < 1 ? 'B ≥ 1' : b}, ${ph * pw}] (${ph}×${pw} tokens)`;
      throw new ShapeError(argument, expected, describeShape(idx_Bl.shape));
    }
  }
}

/** torch's F.normalize(x, dim=-1): x / max(‖x‖₂, 1e-12), a division so the rounding follows the reference. */
function l2Normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12)));
}

/** A schedule of at least `min` scales as [h, w] pairs; unlike VAR's, it need not end at the latent. */
function toScales(scales: unknown, argument: string, min: number): PatchSizes {
  if (!Array.isArray(scales) || scales.length < min) {
    const expected = `an array of at least ${min} scale${min === 1 ? '' : 's'}`;
    throw new InvalidArgumentError(argument, expected, describeValue(scales));
  }
  return scales.map((pn: unknown, si) => toPatchSize(pn, `${argument}[${si}]`));
}
