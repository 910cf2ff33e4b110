import * as tf from '@tensorflow/tfjs-core';
import {
  type AdamW,
  type AdamWOptions,
  checkNumber,
  clipGradientNorm,
  globalGradientNorm,
  checkTensor,
  InvalidArgumentError,
  loadStateDict,
  RandomGenerator,
  type TensorSource,
  withDefaults,
  writeSafetensors,
} from '@nextdetail/core';
import { torchStateDict } from '../parameterStore.js';
import type { ScaleGenerator } from '../scaleGenerator.js';
import type { ScaleSize } from '../scales.js';
import { dropConditions } from './conditionDropout.js';
import { crossEntropy } from './crossEntropy.js';
import { learningRateAt, type LearningRateSchedule } from './learningRate.js';
import { varAdamW } from './varAdamW.js';

export interface TrainerOptions {
  schedule: LearningRateSchedule;
  /** AdamW's betas, eps and weight decay (default 0.05); VAR's no-decay rule picks the decaying parameters. */
  adamW?: Omit<AdamWOptions, 'decays'>;
  /** Max global gradient norm (VAR: 2); 0 turns clipping off. */
  gradClip?: number;
  /** Label smoothing ε of the cross-entropy (VAR: 0). */
  labelSmoothing?: number;
  /** Probability of replacing a label by the unconditional one (VAR: 0.1). */
  conditionDropout?: number;
  /** Seed or saved state of the generator that drives condition dropout. */
  seed?: number;
}

/** One teacher-forced batch: the tokenizer's teacher-forcing input and the token ids it must predict. */
export interface TrainingBatch {
  /** Class ids [B] in [0, numClasses). */
  labels: ArrayLike<number>;
  /** [B, L − 1, Cv]: every scale's input after the first. */
  input_BLCv: tf.Tensor3D;
  /** int32 [B, L]: every scale's token ids, concatenated. */
  target_BL: tf.Tensor2D;
  /** The batch's schedule (VAR: a prefix of its patchNums; FlexVAR: any grids). */
  scales: readonly ScaleSize[];
}

export interface TrainStepResult {
  /** Updates applied so far, this one included. */
  step: number;
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  lr: number;
}

/** `__metadata__.kind` of a training checkpoint written by `checkpoint()`. */
const CHECKPOINT_KIND = 'nextdetail_generator_training';
const EXP_AVG = 'optimizer.exp_avg.';
const EXP_AVG_SQ = 'optimizer.exp_avg_sq.';

// FoundationVision/VAR@78b9539:trainer.py VARTrainer.train_step: condition dropout, teacher-forced forward,
// cross-entropy (mean over tokens), backward, gradient clipping, AdamW with the scheduled learning rate.
/**
 * Trains a VAR/FlexVAR generator in place. Checkpoints are safetensors files with the model under its reference names
 * (loadable by the generator's `fromStateDict`), the AdamW moments under `optimizer.exp_avg(_sq).<name>` and the step
 * and generator state in the metadata; `resume` continues exactly where one left off.
 */
export class GeneratorTrainer {
  readonly optimizer: AdamW;
  private rng: RandomGenerator;
  private readonly gradClip: number;
  private readonly labelSmoothing: number;
  private readonly conditionDropout: number;

  constructor(
    readonly model: ScaleGenerator,
    readonly options: TrainerOptions,
  ) {
    const o = withDefaults({ gradClip: 2, labelSmoothing: 0, conditionDropout: 0.1, seed: 0 }, options);
    checkNumber(o.gradClip, 'options.gradClip', { min: 0 });
    checkNumber(o.labelSmoothing, 'options.labelSmoothing', { min: 0, max: 1 });
    checkNumber(o.conditionDropout, 'options.conditionDropout', { min: 0, max: 1 });
    learningRateAt(0, options.schedule);
    this.gradClip = o.gradClip;
    this.labelSmoothing = o.labelSmoothing;
    this.conditionDropout = o.conditionDropout;
    this.rng = new RandomGenerator(o.seed);
    this.optimizer = varAdamW(model.params, options.adamW);
  }

  /** Updates applied so far. */
  get step(): number {
    return this.optimizer.stepCount;
  }

  /** The learning rate of the next update. */
  get learningRate(): number {
    return learningRateAt(Math.min(this.step, this.options.schedule.totalSteps), this.options.schedule);
  }

  /** One optimisation step on `batch`; leaves no tensors behind. */
  async trainStep(batch: TrainingBatch): Promise<TrainStepResult> {
    checkTensor(batch.input_BLCv, 'batch.input_BLCv', { rank: 3, dtype: 'float32' });
    checkTensor(batch.target_BL, 'batch.target_BL', { rank: 2, dtype: 'int32' });
    const nc = this.model.config.numClasses;
    Array.from(batch.labels).forEach((l, i) => {
      if (!Number.isInteger(l) || l < 0 || l >= nc) throw new InvalidArgumentError(`batch.labels[${i}]`, `a class id in [0, ${nc})`, String(l));
    });
    const labels = dropConditions(batch.labels, nc, this.conditionDropout, this.rng);
    const lr = this.learningRate;
    const { value, grads } = tf.variableGrads(
      () => crossEntropy(this.model.forwardScales(labels, batch.input_BLCv, batch.scales), batch.target_BL, this.labelSmoothing),
      this.model.params.variables(),
    );
    const byName = this.optimizer.parameterGrads(grads);
    try {
      const loss = (await value.data())[0]!;
      const gradNorm = this.gradClip > 0 ? await clipGradientNorm(byName, this.gradClip) : await globalGradientNorm(byName);
      this.optimizer.apply(byName, lr);
      return { step: this.step, loss, gradNorm, lr };
    } finally {
      value.dispose();
      tf.dispose([...byName.values()]);
    }
  }

  /** The whole training state as a safetensors file (model, AdamW moments, step, condition-dropout generator). */
  async checkpoint(): Promise<Uint8Array> {
    const specs = this.model.params.specs;
    return writeSafetensors(
      {
        ...(await this.model.stateDict()),
        ...(await torchStateDict(this.optimizer.moments('exp_avg'), specs, EXP_AVG)),
        ...(await torchStateDict(this.optimizer.moments('exp_avg_sq'), specs, EXP_AVG_SQ)),
      },
      {
        kind: CHECKPOINT_KIND,
        step: String(this.step),
        rng_state: JSON.stringify(this.rng.state()),
        config_json: JSON.stringify(this.model.config),
      },
    );
  }

  /**
   * Restores a state written by `checkpoint()` into this trainer and its model (same architecture). `metadata` is the
   * file's `__metadata__` (e.g. `readSafetensors(bytes)` gives both).
   */
  async resume(source: TensorSource & { metadata: Readonly<Record<string, string>> }): Promise<void> {
    if (source.metadata.kind !== CHECKPOINT_KIND) {
      throw new InvalidArgumentError('source', `a training checkpoint (metadata kind "${CHECKPOINT_KIND}")`, `kind ${JSON.stringify(source.metadata.kind)}`);
    }
    const step = Number(source.metadata.step);
    const rngState = JSON.parse(source.metadata.rng_state ?? 'null');
    const specs = this.model.params.specs;
    const loaded: Array<Awaited<ReturnType<typeof loadStateDict>>> = [];
    try {
      for (const prefix of ['', EXP_AVG, EXP_AVG_SQ]) loaded.push(await loadStateDict(source, specs, { prefix }));
      if (!Number.isSafeInteger(step) || step < 0) {
        throw new InvalidArgumentError('source.metadata.step', 'a non-negative integer', JSON.stringify(source.metadata.step));
      }
      const rng = new RandomGenerator(rngState);
      this.model.params.assign(loaded[0]!.tensors);
      this.optimizer.restore(loaded[1]!.tensors, loaded[2]!.tensors, step);
      this.rng = rng;
    } finally {
      for (const { tensors } of loaded) tf.dispose([...tensors.values()]);
    }
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
