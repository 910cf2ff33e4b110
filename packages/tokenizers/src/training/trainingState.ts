import * as tf from '@tensorflow/tfjs-core';
import {
  CheckpointFormatError,
  describeShape,
  InvalidArgumentError,
  ShapeError,
  type TensorSource,
  writeSafetensors,
} from '@nextdetail/core';
import type { TokenizerFamily } from '../tokenizer.js';
import type { TrainerCore, TrainerCoreState } from './trainerCore.js';

/** `__metadata__.kind` of a tokenizer trainer's resumable state. */
export const TOKENIZER_TRAINING_KIND = 'nextdetail_tokenizer_training';

/** A safetensors file with its `__metadata__`, as `readSafetensors` opens one. */
export type TrainingStateSource = TensorSource & { metadata: Readonly<Record<string, string>> };

/**
 * The whole training state of a tokenizer trainer as safetensors: variables and AdamW moments (tfjs layout, by
 * position), and in the metadata the family, the trainer config, the step, the generator state, the codebook-init
 * flag and the usage tally. Unlike `checkpoint()` (the inference state dict) it is for `resume` only.
 */
export async function writeTrainingState(core: TrainerCore, family: TokenizerFamily, config: unknown): Promise<Uint8Array> {
  const { tensors, ...rest } = core.state();
  return writeSafetensors(tensors, {
    kind: TOKENIZER_TRAINING_KIND,
    family,
    config_json: JSON.stringify(config),
    step: String(rest.step),
    optimizer_steps: String(rest.optimizerSteps),
    discriminator_steps: String(rest.discriminatorSteps),
    codebook_initialised: String(rest.codebookInitialised),
    rng_state: JSON.stringify(rest.rng),
    usage_hits: JSON.stringify(rest.usageHits),
  });
}

/**
 * Restores a `writeTrainingState` file into `core`: the family must match and every tensor must have the shape this
 * trainer's (so the same config) has; nothing is changed unless the whole file checks out.
 */
export async function restoreTrainingState(core: TrainerCore, source: TrainingStateSource, family: TokenizerFamily): Promise<void> {
  const meta = source.metadata;
  if (meta.kind !== TOKENIZER_TRAINING_KIND) {
    throw new InvalidArgumentError('source', `a tokenizer training state (metadata kind "${TOKENIZER_TRAINING_KIND}")`, `kind ${JSON.stringify(meta.kind)}`);
  }
  if (meta.family !== family) {
    throw new InvalidArgumentError('source', `the training state of a ${family} tokenizer`, `a ${JSON.stringify(meta.family)} one`);
  }
  const integer = (key: string): number => {
    const value = Number(meta[key]);
    if (!Number.isSafeInteger(value) || value < 0) throw new CheckpointFormatError('source', `metadata ${key} is not a non-negative integer`);
    return value;
  };
  const json = (key: string): unknown => {
    try {
      return JSON.parse(meta[key] ?? '');
    } catch {
      throw new CheckpointFormatError('source', `metadata ${key} is not JSON`);
    }
  };
  const shapes = core.stateShapes();
  const present = new Set(source.keys());
  for (const [name, shape] of shapes) {
    if (!present.has(name)) throw new CheckpointFormatError('source', `tensor "${name}" is missing`);
    const actual = source.info(name).shape;
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      throw new ShapeError(`source["${name}"]`, `${describeShape(shape)} (this trainer's config)`, describeShape(actual));
    }
  }
  const usageHits = json('usage_hits');
  if (!Array.isArray(usageHits) || usageHits.length !== core.usage.vocabSize) {
    throw new CheckpointFormatError('source', `metadata usage_hits is not an array of ${core.usage.vocabSize} counts`);
  }
  const state: Omit<TrainerCoreState, 'tensors'> = {
    step: integer('step'),
    optimizerSteps: integer('optimizer_steps'),
    discriminatorSteps: integer('discriminator_steps'),
    codebookInitialised: meta.codebook_initialised === 'true',
    rng: json('rng_state') as TrainerCoreState['rng'],
    usageHits: usageHits as number[],
  };
  const tensors: Record<string, tf.Tensor> = {};
  try {
    for (const name of shapes.keys()) tensors[name] = await source.tensor(name);
    core.restore({ ...state, tensors });
  } finally {
    tf.dispose(Object.values(tensors));
  }
}
