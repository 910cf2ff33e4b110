import type { TensorSource } from '@nextdetail/core';
import { MultiScaleResidualQuantizer } from '../quantizer/multiScaleResidual.js';
import { VarVqvae } from '../vqvae/varVqvae.js';
import { specEntries, writeStateDict } from './checkpoint.js';
import { TrainableMultiScaleQuantizer } from './trainableMultiScaleQuantizer.js';
import { restoreTrainingState, type TrainingStateSource, writeTrainingState } from './trainingState.js';
import { TrainerCore, type TrainingOptions, trainerRng } from './trainerCore.js';
import type { VarTokenizerTrainerConfig } from './varTokenizerTrainer.js';

/** VAR's VQVAE and a trainable multi-scale quantizer of `config`, initialised from `options.seed`. */
export function createVarVqvaeParts(
  config: VarTokenizerTrainerConfig,
  options: TrainingOptions,
): { vae: VarVqvae; quantizer: TrainableMultiScaleQuantizer } {
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
  return { vae, quantizer };
}

/**
 * What VAR's and CART's tokenizer trainers share — they train the same VQVAE and multi-scale quantizer and differ only
 * in what they quantise: the optimiser state, code usage, checkpoints under VAR's names and disposal.
 */
export abstract class VarVqvaeTrainerBase {
  protected readonly core: TrainerCore;

  protected constructor(
    readonly config: VarTokenizerTrainerConfig,
    readonly vae: VarVqvae,
    readonly quantizer: TrainableMultiScaleQuantizer,
    options: TrainingOptions,
    private readonly family: 'var' | 'cart',
  ) {
    this.core = new TrainerCore([...vae.variables(), ...quantizer.variables()], quantizer.vocabSize, options, trainerRng(options).fork(12));
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

  /**
   * The resumable training state (variables, AdamW moments, step, generator and usage) as safetensors; `resume` on a
   * trainer of the same config continues exactly as if training had not stopped.
   */
  trainingState(): Promise<Uint8Array> {
    return writeTrainingState(this.core, this.family, this.config);
  }

  /** Continues from a `trainingState()` file (e.g. `readSafetensors(bytes)`) of a trainer of the same config. */
  resume(source: TrainingStateSource): Promise<void> {
    return restoreTrainingState(this.core, source, this.family);
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
}
