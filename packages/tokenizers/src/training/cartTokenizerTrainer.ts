import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor } from '@nextdetail/core';
import { decompose, type DecomposeOptions, disposeDecomposition } from '@nextdetail/decompose';
import { detailStepCounts } from '../quantizer/detailStepCounts.js';
import { type PatchSizes, toPatchSizes } from '../quantizer/patchNums.js';
import { checkImage } from '../vqvae/inputChecks.js';
import type { VarVqvae } from '../vqvae/varVqvae.js';
import { detach, straightThrough } from './detach.js';
import { mse } from './losses.js';
import type { TrainableMultiScaleQuantizer } from './trainableMultiScaleQuantizer.js';
import type { StepReport, TrainingOptions } from './trainerCore.js';
import type { VarTokenizerTrainerConfig } from './varTokenizerTrainer.js';
import { createVarVqvaeParts, VarVqvaeTrainerBase } from './varVqvaeTrainerBase.js';

export interface CartTokenizerTrainerConfig extends VarTokenizerTrainerConfig {
  /** n, the decomposition order (default 3, CART's). */
  order?: number;
  /** Detail maps: a total or one count per factor, as BaseDetailQuantizerConfig.detailSteps (default one per factor). */
  detailSteps?: number | readonly number[];
  /** The base scale whose Phi the detail steps use (default the last, as BaseDetailQuantizer). */
  detailPhiScale?: number;
  /** The smoother's settings (the image range is [0, 1] inside). */
  decomposeOptions?: Omit<DecomposeOptions, 'order' | 'range'>;
}

/** The bases B_0 … B_n of a batch, in the encoder's [−1, 1]. */
type Bases = tf.Tensor4D[];

/**
 * Trains CART's tokenizer (VAR's VQVAE shared by the base and detail factors): per batch the images are decomposed
 * (B_0 = I, B_k = smooth(B_{k−1})) outside the gradient, the encoder runs on every base with gradients, and Algorithm 1
 * quantises f_{B_n} over the base scales and then each f_{D_k} = f_{B_{k−1}} − f_{B_k} in full-resolution detail
 * steps from D_n to D_1. f̂ = Σ Phi(z) is decoded against the image, with VAR's codebook + commitment loss on the
 * running f̂ against f_I after every step and the straight-through f̂. Images [B, H, W, 3] in [−1, 1].
 */
// CART paper (arXiv 2411.10180) §3.2 Algorithms 1 and 2; FoundationVision/VAR@78b9539:models/quant.py (loss, STE)
export class CartTokenizerTrainer extends VarVqvaeTrainerBase {
  static create(config: CartTokenizerTrainerConfig, options: TrainingOptions): CartTokenizerTrainer {
    const { vae, quantizer } = createVarVqvaeParts(config, options);
    return new CartTokenizerTrainer(config, vae, quantizer, options);
  }

  readonly order: number;
  readonly detailPhiScale: number;
  readonly basePatchNums: PatchSizes;
  declare readonly config: CartTokenizerTrainerConfig;

  private constructor(config: CartTokenizerTrainerConfig, vae: VarVqvae, quantizer: TrainableMultiScaleQuantizer, options: TrainingOptions) {
    super(config, vae, quantizer, options, 'cart');
    this.order = config.order ?? 3;
    checkNumber(this.order, 'config.order', { integer: true, min: 0 });
    this.basePatchNums = toPatchSizes(config.patchNums, 'config.patchNums');
    this.detailPhiScale = config.detailPhiScale ?? this.basePatchNums.length - 1;
    checkNumber(this.detailPhiScale, 'config.detailPhiScale', { integer: true, min: 0, max: this.basePatchNums.length - 1 });
    detailStepCounts(config.detailSteps, this.order, 'config.detailSteps');
  }

  async step(images_BHWC: tf.Tensor4D): Promise<StepReport> {
    const bases = await this.bases(images_BHWC);
    try {
      await this.core.initCodebook(this.quantizer.embedding_VC, () => tf.reshape(this.vae.encode(bases[this.order]!), [-1, this.quantizer.cvae]) as tf.Tensor2D);
      return await this.core.step(() => {
        const { fhat_BHWC, vqLoss, ids } = this.quantize(bases);
        return { pairs: [{ target_BHWC: images_BHWC, recon_BHWC: this.vae.decode(fhat_BHWC) }], vqLoss, ids };
      });
    } finally {
      tf.dispose(bases);
    }
  }

  /** The ids of every step (base scales, then details from D_n to D_1) and decoder(f̂), with the current weights. */
  async reconstruct(images_BHWC: tf.Tensor4D): Promise<{ recon_BHWC: tf.Tensor4D; ids: tf.Tensor2D[] }> {
    const bases = await this.bases(images_BHWC);
    try {
      return tf.tidy(() => {
        const { fhat_BHWC, ids } = this.quantize(bases);
        return { recon_BHWC: this.vae.decode(fhat_BHWC), ids };
      });
    } finally {
      tf.dispose(bases);
    }
  }

  /** Algorithm 1 on the encoded bases, with gradients. */
  private quantize(bases: Bases): { fhat_BHWC: tf.Tensor4D; vqLoss: tf.Scalar; ids: tf.Tensor2D[] } {
    return tf.tidy(() => {
      const f_BHWC = bases.map((base) => this.vae.encode(base));
      const fImage_BHWC = f_BHWC[0]!;
      const fImageNoGrad_BHWC = detach(fImage_BHWC);
      const sizes = this.basePatchNums;
      const fullResolution = sizes.map(() => sizes[sizes.length - 1]!);
      let fhat_BHWC: tf.Tensor4D = tf.zerosLike(fImage_BHWC);
      const ids: tf.Tensor2D[] = [];
      const losses: tf.Scalar[] = [];
      const add = (term: { idx_Bl: tf.Tensor2D; h_BHWC: tf.Tensor4D }): tf.Tensor4D => {
        ids.push(term.idx_Bl);
        fhat_BHWC = tf.add(fhat_BHWC, term.h_BHWC);
        losses.push(tf.add(tf.mul(mse(detach(fhat_BHWC), fImage_BHWC), this.quantizer.beta), mse(fhat_BHWC, fImageNoGrad_BHWC)));
        // Residuals only choose the next ids, which carry no gradient.
        return detach(term.h_BHWC);
      };
      let baseRest_BHWC = detach(f_BHWC[this.order]!);
      sizes.forEach((_, si) => {
        baseRest_BHWC = tf.sub(baseRest_BHWC, add(this.quantizer.step(baseRest_BHWC, si, sizes)));
      });
      const counts = detailStepCounts(this.config.detailSteps, this.order, 'config.detailSteps');
      for (let factor = this.order; factor >= 1; factor--) {
        let detailRest_BHWC = detach(tf.sub(f_BHWC[factor - 1]!, f_BHWC[factor]!) as tf.Tensor4D);
        for (let s = 0; s < counts[factor - 1]!; s++) {
          // A schedule of latent-sized scales: no resampling, and the Phi of base scale detailPhiScale.
          detailRest_BHWC = tf.sub(detailRest_BHWC, add(this.quantizer.step(detailRest_BHWC, this.detailPhiScale, fullResolution)));
        }
      }
      const vqLoss = tf.div(tf.addN(losses), losses.length) as tf.Scalar;
      return { fhat_BHWC: straightThrough(fImage_BHWC, fhat_BHWC), vqLoss, ids };
    });
  }

  /** B_0 = I, …, B_n in [−1, 1], from the decomposition of (I + 1)/2. */
  private async bases(images_BHWC: tf.Tensor4D): Promise<Bases> {
    checkTensor(images_BHWC, 'images_BHWC', { rank: 4, dtype: 'float32' });
    checkImage(images_BHWC, this.vae.config.chMult.length);
    const unit = tf.tidy(() => tf.div(tf.add(images_BHWC, 1), 2));
    const parts = await decompose(unit, { ...this.config.decomposeOptions, order: this.order, range: 'unit' });
    unit.dispose();
    try {
      return tf.tidy(() => {
        const details = parts.details as tf.Tensor4D[];
        // bases[k] = B_k: B_n from decompose, B_k = B_{k+1} + D_{k+1} above it, and B_0 the image itself.
        const bases: tf.Tensor4D[] = [parts.base as tf.Tensor4D];
        for (let k = this.order - 1; k >= 1; k--) bases.unshift(tf.add(bases[0]!, details[k]!) as tf.Tensor4D);
        const mapped = bases.map((b) => tf.sub(tf.mul(b, 2), 1) as tf.Tensor4D);
        return this.order > 0 ? [tf.clone(images_BHWC), ...mapped] : [tf.clone(images_BHWC)];
      });
    } finally {
      disposeDecomposition(parts);
    }
  }
}
