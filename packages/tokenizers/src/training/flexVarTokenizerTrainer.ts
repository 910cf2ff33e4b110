import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, resize, type TensorSource } from '@nextdetail/core';
import { GroundTruthMultiScaleQuantizer } from '../quantizer/groundTruthMultiScale.js';
import { toPatchSizes, type PatchNums, type PatchSizes } from '../quantizer/patchNums.js';
import { FlexVae } from '../vqvae/flexVae.js';
import type { FlexVaeConfig } from '../vqvae/flexVaeConfig.js';
import { checkImage } from '../vqvae/inputChecks.js';
import { specEntries, writeStateDict } from './checkpoint.js';
import { sampleScales } from './scaleSampling.js';
import { l2NormalizeRows, TrainableGroundTruthQuantizer } from './trainableGroundTruthQuantizer.js';
import { type StepReport, TrainerCore, type TrainingOptions, trainerRng } from './trainerCore.js';
import { restoreTrainingState, type TrainingStateSource, writeTrainingState } from './trainingState.js';

export interface FlexVarTokenizerTrainerConfig {
  vae?: FlexVaeConfig;
  /** Codebook size (FlexVAE.pth: 8912). */
  vocabSize: number;
  /** K, the scales per step (default 5, the paper's). */
  scalesPerStep?: number;
  /** Commitment weight β (default 0.25). */
  beta?: number;
}

/**
 * Trains FlexVAR's scalable tokenizer with the multi-scale constraint (paper §3.3, Eq. 5): per step, K scales are drawn
 * (seeded), each area(f) is quantised and decoded, and the losses of all K reconstructions — against the image
 * area-resized to the scale's pixel size — are summed. Images [B, H, W, 3] in [−1, 1].
 */
// FlexVAR paper §3.3 Eq. 5; jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py VQModel
export class FlexVarTokenizerTrainer {
  static create(config: FlexVarTokenizerTrainerConfig, options: TrainingOptions): FlexVarTokenizerTrainer {
    const rng = trainerRng(options);
    const vae = FlexVae.fromConfig(config.vae ?? {}, rng.fork(10));
    const quantizer = TrainableGroundTruthQuantizer.create(
      { vocabSize: config.vocabSize, cvae: vae.config.codebookEmbedDim, ...(config.beta !== undefined ? { beta: config.beta } : {}) },
      rng.fork(11),
    );
    return new FlexVarTokenizerTrainer(config, vae, quantizer, options);
  }

  readonly scalesPerStep: number;
  private readonly core: TrainerCore;

  private constructor(
    readonly config: FlexVarTokenizerTrainerConfig,
    readonly vae: FlexVae,
    readonly quantizer: TrainableGroundTruthQuantizer,
    options: TrainingOptions,
  ) {
    this.scalesPerStep = config.scalesPerStep ?? 5;
    checkNumber(this.scalesPerStep, 'config.scalesPerStep', { integer: true, min: 1 });
    this.core = new TrainerCore([...vae.variables(), ...quantizer.variables()], quantizer.vocabSize, options, trainerRng(options).fork(12));
  }

  /** One step: K seeded scales (the full latent among them), all decoded and compared. */
  async step(images_BHWC: tf.Tensor4D): Promise<StepReport> {
    this.checkImages(images_BHWC);
    await this.core.initCodebook(this.quantizer.embedding_VC, () => l2NormalizeRows(tf.reshape(this.vae.encode(images_BHWC), [-1, this.quantizer.cvae]) as tf.Tensor2D));
    const [, H, W] = images_BHWC.shape;
    const f = this.vae.downsampleFactor;
    const sizes = sampleScales(this.core.rng, this.scalesPerStep, [H / f, W / f]);
    return this.core.step(() => this.forward(images_BHWC, sizes));
  }

  /** Reconstructions decoded from the quantised area(f) at each of `scales` (default: the full latent). */
  reconstruct(images_BHWC: tf.Tensor4D, scales?: PatchNums): { recon_BHWC: tf.Tensor4D[]; idx_Bl: tf.Tensor2D[] } {
    this.checkImages(images_BHWC);
    const f = this.vae.downsampleFactor;
    const sizes = scales ? toPatchSizes(scales, 'scales') : [[images_BHWC.shape[1] / f, images_BHWC.shape[2] / f] as const];
    return tf.tidy(() => {
      const { quantized_BhwC, idx_Bl } = this.quantizer.forward(this.vae.encode(images_BHWC), sizes);
      return { recon_BHWC: quantized_BhwC.map((q) => this.vae.decode(q)), idx_Bl };
    });
  }

  get usage() {
    return this.core.usage;
  }

  get optimizer() {
    return this.core.optimizer;
  }

  /** The tokenizer's state dict as safetensors under LlamaGen's names, which FlexVae and the quantizer load. */
  async checkpoint(): Promise<Uint8Array> {
    return writeStateDict([...specEntries(this.vae.parameters, FlexVae.stateDictSpec(this.vae.config)), ...this.quantizer.stateDictEntries()], {
      format: 'pt',
    });
  }

  /**
   * The resumable training state (variables, AdamW moments, step, generator and usage) as safetensors; `resume` on a
   * trainer of the same config continues exactly as if training had not stopped.
   */
  trainingState(): Promise<Uint8Array> {
    return writeTrainingState(this.core, 'flexvar', this.config);
  }

  /** Continues from a `trainingState()` file (e.g. `readSafetensors(bytes)`) of a trainer of the same config. */
  resume(source: TrainingStateSource): Promise<void> {
    return restoreTrainingState(this.core, source, 'flexvar');
  }

  loadQuantizer(source: TensorSource): Promise<GroundTruthMultiScaleQuantizer> {
    return GroundTruthMultiScaleQuantizer.fromStateDict(source);
  }

  dispose(): void {
    this.core.dispose();
    this.vae.dispose();
    this.quantizer.dispose();
  }

  private forward(images_BHWC: tf.Tensor4D, sizes: PatchSizes) {
    const [, H, W] = images_BHWC.shape;
    const f = this.vae.downsampleFactor;
    const { quantized_BhwC, vqLoss, idx_Bl } = this.quantizer.forward(this.vae.encode(images_BHWC), sizes);
    const pairs = quantized_BhwC.map((q, k) => {
      const [ph, pw] = sizes[k]!;
      const target_BHWC = ph * f === H && pw * f === W ? images_BHWC : resize(images_BHWC, [ph * f, pw * f], 'area');
      return { target_BHWC, recon_BHWC: this.vae.decode(q) };
    });
    return { pairs, vqLoss, ids: idx_Bl };
  }

  private checkImages(images_BHWC: tf.Tensor4D): void {
    checkTensor(images_BHWC, 'images_BHWC', { rank: 4, dtype: 'float32' });
    checkImage(images_BHWC, this.vae.config.chMult.length);
  }
}
