import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, type RandomGenerator, resize } from '@nextdetail/core';
import { nearestCode } from '../quantizer/nearestCode.js';
import { type PatchNums, type PatchSizes, toPatchSizes } from '../quantizer/patchNums.js';
import { Phi, phiCount, phiHasConv, phiIndexMap, phiModuleName } from '../quantizer/phi.js';
import { initParameters } from '../vqvae/parameterInit.js';
import type { StateDictEntry } from './checkpoint.js';
import { codebookAndPhiEntries, codebookAndPhiVariables } from './codebookAndPhi.js';
import { codebookLookup } from '../kernels/codebookLookup/register.js';
import { detach, straightThrough } from './detach.js';
import { mse } from './losses.js';

export interface TrainableMultiScaleQuantizerConfig {
  vocabSize: number;
  cvae: number;
  patchNums: PatchNums;
  /** Phi's ratio r (default 0.5). */
  quantResi?: number;
  /** Phi sharing, as MultiScaleResidualQuantizerConfig (default 4). */
  shareQuantResi?: number;
  /** The commitment weight β (default 0.25, VAR's). */
  beta?: number;
}

// Type alias rather than an interface, so that tf.dispose(result) accepts it as a tensor container.
export type QuantizerForward = {
  /** The decoder's input: f̂'s value with f's gradient (straight-through), [B, H, W, Cvae]. */
  fhat_BHWC: tf.Tensor4D;
  /** The codebook + commitment loss. */
  vqLoss: tf.Scalar;
  /** Token ids of every step, int32 [B, l]. */
  idx_Bl: tf.Tensor2D[];
};

/**
 * VAR's multi-scale residual quantizer in training form: the codebook and the Phi convolutions as tf.Variables, the
 * encode loop of MultiScaleResidualQuantizer with gradients to the codebook (through E[idx]) and the Phis, the
 * codebook + commitment loss (1/SN) Σ_si [β·MSE(f̂_si.detach, f) + MSE(f̂_si, f.detach)] (digest §1.4) and the
 * straight-through f̂ for the decoder. Its checkpoint entries carry the reference names, so
 * MultiScaleResidualQuantizer.fromStateDict reads what it learnt.
 */
// FoundationVision/VAR@78b9539:models/quant.py VectorQuantizer2.forward
export class TrainableMultiScaleQuantizer {
  /**
   * A fresh quantizer: the codebook U(−1/V, 1/V) (taming's VectorQuantizer init, VAR's `eini(−1)`), Phi convs with
   * PyTorch's default conv init, all drawn from `rng`.
   */
  static create(config: TrainableMultiScaleQuantizerConfig, rng: RandomGenerator): TrainableMultiScaleQuantizer {
    const { vocabSize, cvae, quantResi = 0.5, shareQuantResi = 4, beta = 0.25 } = config;
    checkNumber(vocabSize, 'config.vocabSize', { integer: true, min: 1 });
    checkNumber(cvae, 'config.cvae', { integer: true, min: 1 });
    checkNumber(quantResi, 'config.quantResi');
    checkNumber(shareQuantResi, 'config.shareQuantResi', { integer: true, min: 0 });
    checkNumber(beta, 'config.beta', { min: 0 });
    const patchNums = toPatchSizes(config.patchNums, 'config.patchNums');
    const embedding = rng.uniform([vocabSize, cvae], -1 / vocabSize, 1 / vocabSize);
    const embedding_VC = tf.variable(embedding, true) as tf.Variable<tf.Rank.R2>;
    embedding.dispose();
    const names = phiHasConv(quantResi)
      ? Array.from({ length: phiCount(shareQuantResi, patchNums.length) }, (_, k) => `quantize.${phiModuleName(shareQuantResi, k)}`)
      : [];
    const spec = Object.fromEntries(
      names.flatMap((m) => [
        [`${m}.weight`, { shape: [cvae, cvae, 3, 3], transform: 'conv2d' as const }],
        [`${m}.bias`, { shape: [cvae] }],
      ]),
    );
    const params = initParameters(spec, rng);
    return new TrainableMultiScaleQuantizer(embedding_VC, names, params, patchNums, Math.abs(quantResi), shareQuantResi, beta);
  }

  readonly vocabSize: number;
  readonly cvae: number;
  private readonly phis: Phi[];

  private constructor(
    readonly embedding_VC: tf.Variable<tf.Rank.R2>,
    private readonly phiNames: string[],
    private readonly phiParams: Map<string, tf.Variable>,
    readonly patchNums: PatchSizes,
    ratio: number,
    readonly shareQuantResi: number,
    readonly beta: number,
  ) {
    [this.vocabSize, this.cvae] = embedding_VC.shape;
    const count = phiCount(shareQuantResi, patchNums.length);
    this.phis =
      phiNames.length > 0
        ? phiNames.map(
            (m) => new Phi({ weight_33CC: phiParams.get(`${m}.weight`) as tf.Tensor4D, bias_C: phiParams.get(`${m}.bias`) as tf.Tensor1D }, ratio),
          )
        : Array.from({ length: count }, () => new Phi(null, ratio));
  }

  /** Quantises `f_BHWC` over `patchNums` (default the config's; the last is the latent size) for one training step. */
  forward(f_BHWC: tf.Tensor4D, patchNums: PatchNums = this.patchNums): QuantizerForward {
    const sizes = toPatchSizes(patchNums, 'patchNums');
    return tf.tidy(() => {
      const fNoGrad_BHWC = detach(f_BHWC);
      let rest_BHWC = fNoGrad_BHWC;
      let fhat_BHWC: tf.Tensor4D = tf.zerosLike(f_BHWC);
      const idx_Bl: tf.Tensor2D[] = [];
      const losses: tf.Scalar[] = [];
      sizes.forEach((_, si) => {
        const term = this.step(rest_BHWC, si, sizes);
        idx_Bl.push(term.idx_Bl);
        fhat_BHWC = tf.add(fhat_BHWC, term.h_BHWC);
        // The residual only chooses the next ids, which carry no gradient.
        rest_BHWC = tf.sub(rest_BHWC, detach(term.h_BHWC));
        losses.push(tf.add(tf.mul(mse(detach(fhat_BHWC), f_BHWC), this.beta), mse(fhat_BHWC, fNoGrad_BHWC)));
      });
      const vqLoss = tf.div(tf.addN(losses), sizes.length) as tf.Scalar;
      return { fhat_BHWC: straightThrough(f_BHWC, fhat_BHWC), vqLoss, idx_Bl };
    });
  }

  /**
   * One step of the residual loop on `rest_BHWC`: ids of area(rest) at scale si's size (the last scale is the latent
   * itself), and the term Phi(up(E[ids])) with the codebook's gradient.
   */
  step(rest_BHWC: tf.Tensor4D, si: number, sizes: PatchSizes): { idx_Bl: tf.Tensor2D; h_BHWC: tf.Tensor4D } {
    return tf.tidy(() => {
      const [b, , , c] = rest_BHWC.shape;
      const last = sizes.length - 1;
      const [ph, pw] = sizes[si]!;
      const z_BhwC = si < last ? resize(rest_BHWC, [ph, pw], 'area') : rest_BHWC;
      const idx_Bl = tf.reshape(nearestCode(tf.reshape(z_BhwC, [b * ph * pw, c]), this.embedding_VC), [b, ph * pw]) as tf.Tensor2D;
      const h_BhwC = tf.reshape(codebookLookup(this.embedding_VC, idx_Bl), [b, ph, pw, c]) as tf.Tensor4D;
      return { idx_Bl, h_BHWC: this.term(h_BhwC, si, sizes) };
    });
  }

  /** Scale si's term Phi_si(up(h)): bicubic to the latent size for every scale but the last, then its Phi. */
  term(h_BhwC: tf.Tensor4D, si: number, sizes: PatchSizes): tf.Tensor4D {
    return tf.tidy(() => {
      const last = sizes.length - 1;
      const up_BHWC = si < last ? resize(h_BhwC, sizes[last]!, 'bicubic') : h_BhwC;
      return this.phis[phiIndexMap(this.phis.length, sizes.length)[si]!]!.apply(up_BHWC);
    });
  }

  variables(): tf.Variable[] {
    return codebookAndPhiVariables({ embedding_VC: this.embedding_VC, phiNames: this.phiNames, phiParams: this.phiParams });
  }

  /** `quantize.embedding.weight` and the Phi convolutions under their reference names. */
  stateDictEntries(): StateDictEntry[] {
    return codebookAndPhiEntries({ embedding_VC: this.embedding_VC, phiNames: this.phiNames, phiParams: this.phiParams });
  }

  dispose(): void {
    this.embedding_VC.dispose();
    for (const phi of this.phis) phi.dispose();
  }
}
