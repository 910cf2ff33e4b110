import * as tf from '@tensorflow/tfjs-core';
import {
  checkNumber,
  checkTensor,
  describeShape,
  describeValue,
  InvalidArgumentError,
  loadStateDict,
  type ParameterSpec,
  resize,
  ShapeError,
  type TensorSource,
} from '@nextdetail/core';
import { nearestCode } from './nearestCode.js';
import { describePatchSizes, type PatchNums, type PatchSizes, toPatchSize, toPatchSizes } from './patchNums.js';
import { Phi, phiCount, phiHasConv, phiIndexMap, phiModuleName } from './phi.js';

/** VectorQuantizer2's constructor arguments (VQVAE's, for the quantizer). */
export interface MultiScaleResidualQuantizerConfig {
  /** V, the codebook size. */
  vocabSize: number;
  /** Cvae, the latent and codebook channels. */
  cvae: number;
  /** `v_patch_nums`: the default schedule of every method; the last entry is the latent size. */
  patchNums: PatchNums;
  /** `quant_resi`, Phi's ratio r (default 0.5). |r| ≤ 1e-6 makes every Phi the identity, with no parameters. */
  quantResi?: number;
  /** `share_quant_resi`: 0 = one Phi per scale of `patchNums`, 1 = one Phi for all, K ≥ 2 = K shared Phis (default 4). */
  shareQuantResi?: number;
  /** Prepended to every state-dict name, as loadStateDict's `prefix` (e.g. "vae." for `vae.quantize.*`). */
  prefix?: string;
}

// Type aliases rather than interfaces, so that tf.dispose(result) accepts them as tensor containers.
export type MultiScaleEncoding = {
  /** Token ids per scale: int32 [B, h·w], row-major. */
  idx_Bl: tf.Tensor2D[];
  /** Cumulative f̂ after each scale, [B, H, W, Cvae]; only when asked for. */
  fhat_BHWC?: tf.Tensor4D[];
};

export type AutoregressiveStep = {
  /** f̂ with this scale added, [B, H, W, Cvae]. */
  fhat_BHWC: tf.Tensor4D;
  /** The next scale's input, area(f̂) at its size; f̂ itself (a separate tensor) after the last scale. */
  next_BhwC: tf.Tensor4D;
};

/**
 * VAR's multi-scale residual quantizer on NHWC latents: scale si quantises area(residual) at its patch size,
 * up-samples the embedding to the latent (bicubic), refines it with Phi and subtracts it from the residual. The last
 * scale is the latent itself: it is neither down-sampled before the lookup nor up-sampled after. Every method takes an
 * optional schedule overriding the config's; patch sizes may be [h, w] pairs.
 *
 * The caller owns every returned tensor; `dispose()` frees the parameters. Inputs must be finite: ids of non-finite
 * latents are unspecified, and ids outside [0, V) are not checked (that would need a read-back).
 */
// FoundationVision/VAR@78b9539:models/quant.py VectorQuantizer2
export class MultiScaleResidualQuantizer {
  readonly vocabSize: number;
  readonly cvae: number;
  readonly patchNums: PatchSizes;
  readonly shareQuantResi: number;

  private constructor(
    /** The codebook [V, Cvae]; owned by the quantizer. */
    readonly embedding_VC: tf.Tensor2D,
    private readonly phis: readonly Phi[],
    patchNums: PatchSizes,
    shareQuantResi: number,
  ) {
    [this.vocabSize, this.cvae] = embedding_VC.shape;
    this.patchNums = patchNums;
    this.shareQuantResi = shareQuantResi;
  }

  /**
   * Reads `quantize.embedding.weight` and the Phi convolutions (`quantize.quant_resi.qresi_ls.{k}` for K shared
   * ones, `quantize.quant_resi.{k}` unshared, `quantize.quant_resi.qresi` for one) from a checkpoint.
   */
  static async fromStateDict(
    source: TensorSource,
    config: MultiScaleResidualQuantizerConfig,
  ): Promise<MultiScaleResidualQuantizer> {
    if (config === null || typeof config !== 'object') {
      throw new InvalidArgumentError('config', 'an object', describeValue(config));
    }
    const { vocabSize, cvae, quantResi = 0.5, shareQuantResi = 4, prefix = '' } = config;
    checkNumber(vocabSize, 'config.vocabSize', { integer: true, min: 1 });
    checkNumber(cvae, 'config.cvae', { integer: true, min: 1 });
    checkNumber(quantResi, 'config.quantResi');
    checkNumber(shareQuantResi, 'config.shareQuantResi', { integer: true, min: 0 });
    if (typeof prefix !== 'string') throw new InvalidArgumentError('config.prefix', 'a string', describeValue(prefix));
    const patchNums = toPatchSizes(config.patchNums, 'config.patchNums');

    const count = phiCount(shareQuantResi, patchNums.length);
    const modules = phiHasConv(quantResi)
      ? Array.from({ length: count }, (_, k) => `quantize.${phiModuleName(shareQuantResi, k)}`)
      : [];
    const spec: Record<string, ParameterSpec> = { 'quantize.embedding.weight': { shape: [vocabSize, cvae] } };
    for (const m of modules) {
      spec[`${m}.weight`] = { shape: [cvae, cvae, 3, 3], transform: 'conv2d' };
      spec[`${m}.bias`] = { shape: [cvae] };
    }
    const { tensors, report } = await loadStateDict(source, spec, { prefix });
    // Phi modules the config did not ask for mean its sharing mode or scale count disagrees with the checkpoint.
    const extra = report.unused.filter((key) => key.startsWith(`${prefix}quantize.quant_resi.`));
    if (extra.length > 0) {
      tf.dispose([...tensors.values()]);
      throw new InvalidArgumentError(
        'config.shareQuantResi',
        `a sharing mode that uses every Phi of the checkpoint (${shareQuantResi} expects ${modules.length} Phi convolutions)`,
        `${shareQuantResi}, leaving ${extra.join(', ')} unused`,
      );
    }
    const phis = phiHasConv(quantResi)
      ? modules.map(
          (m) =>
            new Phi(
              { weight_33CC: tensors.get(`${m}.weight`) as tf.Tensor4D, bias_C: tensors.get(`${m}.bias`) as tf.Tensor1D },
              Math.abs(quantResi),
            ),
        )
      : Array.from({ length: count }, () => new Phi(null, Math.abs(quantResi)));
    return new MultiScaleResidualQuantizer(
      tensors.get('quantize.embedding.weight') as tf.Tensor2D,
      phis,
      patchNums,
      shareQuantResi,
    );
  }

  /**
   * Token ids of every scale for the latent `f_BHWC` (f_to_idxBl_or_fhat), and with `withFhat` the cumulative f̂ after
   * each scale. The last patch size must be the latent's [H, W].
   */
  encode(
    f_BHWC: tf.Tensor4D,
    patchNums: PatchNums = this.patchNums,
    { withFhat = false }: { withFhat?: boolean } = {},
  ): MultiScaleEncoding {
    checkTensor(f_BHWC, 'f_BHWC', { rank: 4, dtype: 'float32' });
    const [b, h, w, c] = f_BHWC.shape;
    if (c !== this.cvae || b < 1) {
      throw new ShapeError('f_BHWC', `[B ≥ 1, H, W, ${this.cvae}] (NHWC, Cvae = ${this.cvae})`, describeShape(f_BHWC.shape));
    }
    const sizes = this.schedule(patchNums, 'patchNums', [h, w]);
    const last = sizes.length - 1;
    return tf.tidy(() => {
      let rest_BHWC = f_BHWC;
      let fhat_BHWC: tf.Tensor4D = tf.zerosLike(f_BHWC);
      const idx_Bl: tf.Tensor2D[] = [];
      const fhats: tf.Tensor4D[] = [];
      sizes.forEach(([ph, pw], si) => {
        const z_BhwC = si < last ? resize(rest_BHWC, [ph, pw], 'area') : rest_BHWC;
        const idx_N = nearestCode(tf.reshape(z_BhwC, [b * ph * pw, c]), this.embedding_VC);
        idx_Bl.push(tf.reshape(idx_N, [b, ph * pw]));
        const h_BHWC = this.refine(this.embed(idx_Bl[si]!, [ph, pw]), si, sizes);
        fhat_BHWC = tf.add(fhat_BHWC, h_BHWC);
        rest_BHWC = tf.sub(rest_BHWC, h_BHWC);
        if (withFhat) fhats.push(fhat_BHWC);
      });
      return withFhat ? { idx_Bl, fhat_BHWC: fhats } : { idx_Bl };
    });
  }

  /** The codebook rows of `idx_Bl` (int32 [B, h·w], row-major) laid out as a map [B, h, w, Cvae]. */
  embed(idx_Bl: tf.Tensor2D, patchSize: number | readonly [number, number]): tf.Tensor4D {
    const [ph, pw] = toPatchSize(patchSize, 'patchSize');
    checkTensor(idx_Bl, 'idx_Bl', { rank: 2, dtype: 'int32' });
    if (idx_Bl.shape[1] !== ph * pw || idx_Bl.shape[0] < 1) {
      throw new ShapeError('idx_Bl', `[B ≥ 1, ${ph * pw}] (${ph}×${pw} tokens)`, describeShape(idx_Bl.shape));
    }
    return tf.tidy(() => tf.reshape(tf.gather(this.embedding_VC, idx_Bl), [idx_Bl.shape[0], ph, pw, this.cvae]));
  }

  /** The final f̂ [B, H, W, Cvae] of the ids of every scale (the decoder's input; idxBl_to_img before the decoder). */
  idxToFhat(idx_Bl: readonly tf.Tensor2D[], patchNums: PatchNums = this.patchNums): tf.Tensor4D {
    const sizes = this.schedule(patchNums, 'patchNums');
    this.checkIdx(idx_Bl, sizes);
    const [lh, lw] = sizes[sizes.length - 1]!;
    return tf.tidy(() =>
      // Accumulated scale by scale from zeros, as the reference does, so the float32 rounding follows it.
      sizes.reduce<tf.Tensor4D>(
        (fhat_BHWC, pn, si) => tf.add(fhat_BHWC, this.refine(this.embed(idx_Bl[si]!, pn), si, sizes)),
        tf.zeros([idx_Bl[0]!.shape[0], lh, lw, this.cvae]),
      ),
    );
  }

  /**
   * The transformer's teacher-forcing input [B, L − h₀·w₀, Cvae] (idxBl_to_var_input): for every scale but the first,
   * the cumulative f̂ of the scales before it, area-down-sampled to its size, row-major. Takes the ids of all scales;
   * the last scale's are not used.
   */
  // FoundationVision/VAR@78b9539:models/quant.py VectorQuantizer2.idxBl_to_var_input
  teacherForcingInput(idx_Bl: readonly tf.Tensor2D[], patchNums: PatchNums = this.patchNums): tf.Tensor3D {
    const sizes = this.schedule(patchNums, 'patchNums');
    this.checkIdx(idx_Bl, sizes);
    const b = idx_Bl[0]!.shape[0];
    return tf.tidy(() => {
      const [lh, lw] = sizes[sizes.length - 1]!;
      let fhat_BHWC: tf.Tensor4D = tf.zeros([b, lh, lw, this.cvae]);
      const inputs_BlC: tf.Tensor3D[] = [];
      for (let si = 0; si < sizes.length - 1; si++) {
        fhat_BHWC = tf.add(fhat_BHWC, this.refine(this.embed(idx_Bl[si]!, sizes[si]!), si, sizes));
        const [ph, pw] = sizes[si + 1]!;
        inputs_BlC.push(tf.reshape(resize(fhat_BHWC, [ph, pw], 'area'), [b, ph * pw, this.cvae]));
      }
      return tf.concat(inputs_BlC, 1);
    });
  }

  /**
   * One inference step (get_next_autoregressive_input): adds scale si's embedding map `h_BhwC` (E[idx], or any
   * mixture of codebook rows) to `fhat_BHWC` (zeros before the first scale) and returns the new f̂ and the next
   * scale's input. The inputs are left alone.
   */
  // FoundationVision/VAR@78b9539:models/quant.py VectorQuantizer2.get_next_autoregressive_input
  nextInput(
    si: number,
    fhat_BHWC: tf.Tensor4D,
    h_BhwC: tf.Tensor4D,
    patchNums: PatchNums = this.patchNums,
  ): AutoregressiveStep {
    const sizes = this.checkScaleMap(si, h_BhwC, patchNums);
    const [lh, lw] = sizes[sizes.length - 1]!;
    const b = h_BhwC.shape[0];
    checkTensor(fhat_BHWC, 'fhat_BHWC', { rank: 4, dtype: 'float32' });
    if (!sameShape(fhat_BHWC.shape, [b, lh, lw, this.cvae])) {
      const expected = `[${b}, ${lh}, ${lw}, ${this.cvae}] (the latent of ${describePatchSizes(sizes)})`;
      throw new ShapeError('fhat_BHWC', expected, describeShape(fhat_BHWC.shape));
    }
    return tf.tidy(() => {
      const sum_BHWC: tf.Tensor4D = tf.add(fhat_BHWC, this.refine(h_BhwC, si, sizes));
      const next = sizes[si + 1];
      return { fhat_BHWC: sum_BHWC, next_BhwC: next ? resize(sum_BHWC, next, 'area') : tf.clone(sum_BHWC) };
    });
  }

  /**
   * Scale si's term of f̂, Phi_si(up(h)): `h_BhwC` at scale si's size, bicubic up-sampled to the latent (every scale
   * but the last), then the Phi that scale si of the schedule uses. A schedule whose sizes are all the latent's applies
   * scale si's Phi to a full-resolution map without resampling, which is how CART's detail steps pick theirs.
   */
  scaleTerm(si: number, h_BhwC: tf.Tensor4D, patchNums: PatchNums = this.patchNums): tf.Tensor4D {
    const sizes = this.checkScaleMap(si, h_BhwC, patchNums);
    return tf.tidy(() => this.refine(h_BhwC, si, sizes));
  }

  dispose(): void {
    this.embedding_VC.dispose();
    for (const phi of this.phis) phi.dispose();
  }

  /** Validates scale si's embedding map `h_BhwC` against the schedule, which it returns as pairs. */
  private checkScaleMap(si: number, h_BhwC: tf.Tensor4D, patchNums: PatchNums): PatchSizes {
    const sizes = this.schedule(patchNums, 'patchNums');
    checkNumber(si, 'si', { integer: true, min: 0, max: sizes.length - 1 });
    const [ph, pw] = sizes[si]!;
    checkTensor(h_BhwC, 'h_BhwC', { rank: 4, dtype: 'float32' });
    if (!sameShape(h_BhwC.shape, [h_BhwC.shape[0], ph, pw, this.cvae]) || h_BhwC.shape[0] < 1) {
      const expected = `[B, ${ph}, ${pw}, ${this.cvae}] (scale ${si} of ${describePatchSizes(sizes)})`;
      throw new ShapeError('h_BhwC', expected, describeShape(h_BhwC.shape));
    }
    return sizes;
  }

  /** Scale si's contribution to f̂: up-sampled to the latent (every scale but the last), then its Phi. */
  private refine(h_BhwC: tf.Tensor4D, si: number, sizes: PatchSizes): tf.Tensor4D {
    const last = sizes.length - 1;
    const up_BHWC = si < last ? resize(h_BhwC, sizes[last]!, 'bicubic') : h_BhwC;
    return this.phis[phiIndexMap(this.phis.length, sizes.length)[si]!]!.apply(up_BHWC);
  }

  /** `patchNums` as pairs; unshared Phis exist only for the configured scale count, and `latent` must be the last. */
  private schedule(patchNums: PatchNums, argument: string, latent?: readonly [number, number]): PatchSizes {
    const sizes = toPatchSizes(patchNums, argument);
    if (this.shareQuantResi === 0 && sizes.length !== this.phis.length) {
      throw new InvalidArgumentError(
        argument,
        `${this.phis.length} scales (share_quant_resi = 0 has one Phi per configured scale)`,
        `${sizes.length} scales ${describePatchSizes(sizes)}`,
      );
    }
    const [lh, lw] = sizes[sizes.length - 1]!;
    if (latent && (lh !== latent[0] || lw !== latent[1])) {
      throw new ShapeError(
        argument,
        `a last patch size equal to the latent's ${latent[0]}×${latent[1]}`,
        `${describePatchSizes(sizes)}, ending at ${lh}×${lw}`,
      );
    }
    return sizes;
  }

  private checkIdx(idx_Bl: readonly tf.Tensor2D[], sizes: PatchSizes): void {
    if (!Array.isArray(idx_Bl) || idx_Bl.length !== sizes.length) {
      const expected = `${sizes.length} tensors, one per scale of ${describePatchSizes(sizes)}`;
      throw new InvalidArgumentError('idx_Bl', expected, describeValue(idx_Bl));
    }
    idx_Bl.forEach((idx, si) => checkTensor(idx, `idx_Bl[${si}]`, { rank: 2, dtype: 'int32' }));
    const b = idx_Bl[0]!.shape[0];
    idx_Bl.forEach((idx, si) => {
      const [ph, pw] = sizes[si]!;
      if (idx.shape[0] !== b || idx.shape[1] !== ph * pw || b < 1) {
        const expected = `[${b < 1 ? 'B ≥ 1' : b}, ${ph * pw}] (${ph}×${pw} tokens of scale ${si})`;
        throw new ShapeError(`idx_Bl[${si}]`, expected, describeShape(idx.shape));
      }
    });
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
