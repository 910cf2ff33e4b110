import * as tf from '@tensorflow/tfjs-core';
import { checkTensor } from '@nextdetail/core';
import type { PatchNums } from '../quantizer/patchNums.js';
import { checkImage } from '../vqvae/inputChecks.js';
import type { VarVqvaeConfig } from '../vqvae/varVqvaeConfig.js';
import type { StepReport, TrainingOptions } from './trainerCore.js';
import { createVarVqvaeParts, VarVqvaeTrainerBase } from './varVqvaeTrainerBase.js';

export interface VarTokenizerTrainerConfig {
  vae: VarVqvaeConfig;
  /** The scale schedule; the last entry is the latent size (image size / 2^(levels − 1)). */
  patchNums: PatchNums;
  quantResi?: number;
  shareQuantResi?: number;
  /** Commitment weight β (default 0.25). */
  beta?: number;
}

/**
 * Trains VAR's tokenizer: VQVAE CNN + multi-scale residual quantizer, decoder(f̂) against the image with the
 * straight-through f̂ (digest §1.4 "Training loss"). Images [B, H, W, 3] in [−1, 1].
 */
// FoundationVision/VAR@78b9539:models/vqvae.py VQVAE.forward
export class VarTokenizerTrainer extends VarVqvaeTrainerBase {
  /** A fresh tokenizer of `config`, initialised from `options.seed`. */
  static create(config: VarTokenizerTrainerConfig, options: TrainingOptions): VarTokenizerTrainer {
    const { vae, quantizer } = createVarVqvaeParts(config, options);
    return new VarTokenizerTrainer(config, vae, quantizer, options, 'var');
  }

  /** One optimisation step on `images_BHWC`. */
  async step(images_BHWC: tf.Tensor4D): Promise<StepReport> {
    this.checkImages(images_BHWC);
    await this.core.initCodebook(this.quantizer.embedding_VC, () => tf.reshape(this.vae.encode(images_BHWC), [-1, this.quantizer.cvae]) as tf.Tensor2D);
    return this.core.step(() => {
      const { fhat_BHWC, vqLoss, idx_Bl } = this.quantizer.forward(this.vae.encode(images_BHWC));
      return { pairs: [{ target_BHWC: images_BHWC, recon_BHWC: this.vae.decode(fhat_BHWC) }], vqLoss, ids: idx_Bl };
    });
  }

  /** decoder(f̂) of the current weights, unclamped, [B, H, W, 3]; and the ids of every scale. */
  reconstruct(images_BHWC: tf.Tensor4D): { recon_BHWC: tf.Tensor4D; idx_Bl: tf.Tensor2D[] } {
    this.checkImages(images_BHWC);
    return tf.tidy(() => {
      const { fhat_BHWC, idx_Bl } = this.quantizer.forward(this.vae.encode(images_BHWC));
      return { recon_BHWC: this.vae.decode(fhat_BHWC), idx_Bl };
    });
  }

  private checkImages(images_BHWC: tf.Tensor4D): void {
    checkTensor(images_BHWC, 'images_BHWC', { rank: 4, dtype: 'float32' });
    checkImage(images_BHWC, this.vae.config.chMult.length);
  }
}
