import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, type TensorSource } from '@nextdetail/core';
import { MultiScaleResidualQuantizer } from '../quantizer/multiScaleResidual.js';
import type { PatchNums } from '../quantizer/patchNums.js';
import { checkImage } from '../vqvae/inputChecks.js';
import { VarVqvae } from '../vqvae/varVqvae.js';
import type { VarVqvaeConfig } from '../vqvae/varVqvaeConfig.js';
import { specEntries, writeStateDict } from './checkpoint.js';
import { TrainableMultiScaleQuantizer } from './trainableMultiScaleQuantizer.js';
import { type StepReport, TrainerCore, type TrainingOptions, trainerRng } from './trainerCore.js';

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
export class VarTokenizerTrainer {
  /** A fresh tokenizer of `config`, initialised from `options.seed`. */
  static create(config: VarTokenizerTrainerConfig, options: TrainingOptions): VarTokenizerTrainer {
    const rng = trainerRng(options);
    const vae = VarVqvae.fromConfig(config.vae, rng.fork(10));
    const quantizer = TrainableMultiScaleQuantizer.create(
      {
        vocabSize: vae.config.vocabSize,
        cvae: vae.config.zChannels,
        patchNums: config.patchNums,
        ...(config.quantResi !== undefined ? { quantResi: config.quantResi } : {}),
        ...(config.shareQuantResi !== undefined ? { shareQuantResi: config.shareQuantResi } : {}),
        ...(config.beta !== undefined ? { beta: config.beta } : {}),
      },
      rng.fork(11),
    );
    return new VarTokenizerTrainer(config, vae, quantizer, options);
  }

  private readonly core: TrainerCore;

  private constructor(
    readonly config: VarTokenizerTrainerConfig,
    readonly vae: VarVqvae,
    readonly quantizer: TrainableMultiScaleQuantizer,
    options: TrainingOptions,
  ) {
    this.core = new TrainerCore([...vae.variables(), ...quantizer.variables()], quantizer.vocabSize, options, trainerRng(options).fork(12));
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

  /** Code usage summed over every step so far. */
  get usage() {
    return this.core.usage;
  }

  get optimizer() {
    return this.core.optimizer;
  }

  /**
   * The VQVAE's state dict as safetensors under VAR's names (`encoder.*`, `quant_conv.*`, …, `quantize.*`), which
   * VarVqvae.fromStateDict and MultiScaleResidualQuantizer.fromStateDict load, like `vae_ch160v4096z32.pth`.
   */
  async checkpoint(): Promise<Uint8Array> {
    return writeStateDict([...specEntries(this.vae.parameters, VarVqvae.stateDictSpec(this.vae.config)), ...this.quantizer.stateDictEntries()], {
      format: 'pt',
    });
  }

  /** The inference quantizer for a checkpoint this trainer wrote. */
  loadQuantizer(source: TensorSource): Promise<MultiScaleResidualQuantizer> {
    return MultiScaleResidualQuantizer.fromStateDict(source, {
      vocabSize: this.quantizer.vocabSize,
      cvae: this.quantizer.cvae,
      patchNums: this.config.patchNums,
      ...(this.config.quantResi !== undefined ? { quantResi: this.config.quantResi } : {}),
      shareQuantResi: this.quantizer.shareQuantResi,
    });
  }

  dispose(): void {
    this.core.dispose();
    this.vae.dispose();
    this.quantizer.dispose();
  }

  private checkImages(images_BHWC: tf.Tensor4D): void {
    checkTensor(images_BHWC, 'images_BHWC', { rank: 4, dtype: 'float32' });
    checkImage(images_BHWC, this.vae.config.chMult.length);
  }
}
