import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, type TensorSource } from '@nextdetail/core';
import { granularityClustering } from '../quantizer/granularityClustering.js';
import { GranularityQuantizer } from '../quantizer/granularityQuantizer.js';
import { checkImage } from '../vqvae/inputChecks.js';
import { NvgAutoencoder } from '../vqvae/nvgAutoencoder.js';
import type { NvgAutoencoderConfig } from '../vqvae/nvgAutoencoderConfig.js';
import { specEntries, writeStateDict } from './checkpoint.js';
import { TrainableGranularityQuantizer } from './trainableGranularityQuantizer.js';
import { type StepReport, TrainerCore, type TrainingOptions, trainerRng } from './trainerCore.js';
import { restoreTrainingState, type TrainingStateSource, writeTrainingState } from './trainingState.js';

export interface NvgTokenizerTrainerConfig {
  vae?: NvgAutoencoderConfig;
  /** Codebook size (NVG: 4096). */
  vocabSize: number;
  /** The latent size H·W must be a power of two; the stage count is log2(H·W) + 1. */
  latentSize: readonly [number, number];
  codebookWeight?: number;
  commitWeight?: number;
}

/**
 * Trains NVG's tokenizer: the structure map is clustered from the detached encoder output (greedy equal-size
 * clustering), then the granularity quantizer runs with gradients, and decoder(f̂) — clamped, as NVG's decoder is —
 * is compared with the image. Images [B, H, W, 3] in [−1, 1].
 */
// NVG paper §3.1 and App. A.2; reference digest §3.2
export class NvgTokenizerTrainer {
  static create(config: NvgTokenizerTrainerConfig, options: TrainingOptions): NvgTokenizerTrainer {
    const rng = trainerRng(options);
    const vae = NvgAutoencoder.fromConfig(config.vae ?? {}, rng.fork(10));
    const [h, w] = config.latentSize;
    const quantizer = TrainableGranularityQuantizer.create(
      {
        vocabSize: config.vocabSize,
        cvae: vae.config.embedDim,
        stages: Math.log2(h * w) + 1,
        ...(config.codebookWeight !== undefined ? { codebookWeight: config.codebookWeight } : {}),
        ...(config.commitWeight !== undefined ? { commitWeight: config.commitWeight } : {}),
      },
      rng.fork(11),
    );
    return new NvgTokenizerTrainer(config, vae, quantizer, options);
  }

  private readonly core: TrainerCore;

  private constructor(
    readonly config: NvgTokenizerTrainerConfig,
    readonly vae: NvgAutoencoder,
    readonly quantizer: TrainableGranularityQuantizer,
    options: TrainingOptions,
  ) {
    this.core = new TrainerCore([...vae.variables(), ...quantizer.variables()], quantizer.vocabSize, options, trainerRng(options).fork(12));
  }

  async step(images_BHWC: tf.Tensor4D): Promise<StepReport> {
    const labels_BSP = await this.structure(images_BHWC);
    try {
      await this.core.initCodebook(this.quantizer.embedding_VC, () => tf.reshape(this.vae.encode(images_BHWC), [-1, this.quantizer.cvae]) as tf.Tensor2D);
      return await this.core.step(() => {
        const { fhat_BHWC, vqLoss, idx_Bl } = this.quantizer.forward(this.vae.encode(images_BHWC), labels_BSP);
        return { pairs: [{ target_BHWC: images_BHWC, recon_BHWC: this.vae.decode(fhat_BHWC) }], vqLoss, ids: idx_Bl };
      });
    } finally {
      labels_BSP.dispose();
    }
  }

  /** decoder(f̂) of the current weights (clamped), the structure map and the cluster tokens of every stage. */
  async reconstruct(images_BHWC: tf.Tensor4D): Promise<{ recon_BHWC: tf.Tensor4D; labels_BSP: tf.Tensor3D; idx_Bl: tf.Tensor2D[] }> {
    const labels_BSP = await this.structure(images_BHWC);
    const { recon_BHWC, idx_Bl } = tf.tidy(() => {
      const { fhat_BHWC, idx_Bl } = this.quantizer.forward(this.vae.encode(images_BHWC), labels_BSP);
      return { recon_BHWC: this.vae.decode(fhat_BHWC), idx_Bl };
    });
    return { recon_BHWC, labels_BSP, idx_Bl };
  }

  get usage() {
    return this.core.usage;
  }

  get optimizer() {
    return this.core.optimizer;
  }

  /** The tokenizer's state dict as safetensors under NVG's names, which NvgAutoencoder and GranularityQuantizer load. */
  async checkpoint(): Promise<Uint8Array> {
    return writeStateDict(
      [...specEntries(this.vae.parameters, NvgAutoencoder.stateDictSpec(this.vae.config)), ...this.quantizer.stateDictEntries()],
      { format: 'pt' },
    );
  }

  /**
   * The resumable training state (variables, AdamW moments, step, generator and usage) as safetensors; `resume` on a
   * trainer of the same config continues exactly as if training had not stopped.
   */
  trainingState(): Promise<Uint8Array> {
    return writeTrainingState(this.core, 'nvg', this.config);
  }

  /** Continues from a `trainingState()` file (e.g. `readSafetensors(bytes)`) of a trainer of the same config. */
  resume(source: TrainingStateSource): Promise<void> {
    return restoreTrainingState(this.core, source, 'nvg');
  }

  loadQuantizer(source: TensorSource): Promise<GranularityQuantizer> {
    return GranularityQuantizer.fromStateDict(source);
  }

  dispose(): void {
    this.core.dispose();
    this.vae.dispose();
    this.quantizer.dispose();
  }

  /** The structure map of the detached latent. */
  private async structure(images_BHWC: tf.Tensor4D): Promise<tf.Tensor3D> {
    checkTensor(images_BHWC, 'images_BHWC', { rank: 4, dtype: 'float32' });
    checkImage(images_BHWC, this.vae.config.chMult.length);
    const f_BHWC = this.vae.encode(images_BHWC);
    try {
      return await granularityClustering(f_BHWC);
    } finally {
      f_BHWC.dispose();
    }
  }
}
