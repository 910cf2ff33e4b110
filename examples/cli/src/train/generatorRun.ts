import type * as tf from '@tensorflow/tfjs';
import type { SafetensorsFile } from '@nextdetail/core';
import type { PipelineMethod } from '@nextdetail/samplers';
import type { NvgTokenizer, Tokenizer } from '@nextdetail/tokenizers';
import type { FlexVarGenerator, NvgConfig, NvgGenerator, VarGenerator } from '@nextdetail/transformer';
import { NvgGeneratorRun, type NvgParts } from './nvgGeneratorRun.js';
import { ScaleGeneratorRun } from './scaleGeneratorRun.js';

/** What `train` needs of a method's generator training: steps, a resumable state, and the model for the pipeline. */
export interface GeneratorRun {
  readonly generator: VarGenerator | FlexVarGenerator | NvgGenerator;
  /** Training step `step` (0-based) on a batch; returns its loss terms by name. */
  step(step: number, images_BHWC: tf.Tensor4D, labels: readonly number[]): Promise<Record<string, number>>;
  /** The whole training state (model, optimizer, step) as safetensors, for `createGeneratorRun(…, state)`. */
  trainingState(): Promise<Uint8Array>;
  dispose(): void;
}

export interface GeneratorRunOptions {
  seed: number;
  learningRate: number;
  totalSteps: number;
  /** A `trainingState()` file to continue from. */
  state?: SafetensorsFile;
  /** The generator to start from instead of a fresh one (fine-tuning); the run owns it. Ignored with `state`. */
  initial?: VarGenerator | FlexVarGenerator | NvgGenerator;
  /** NVG: the networks to update (default both). */
  parts?: NvgParts;
  /** NVG, fresh runs: the generator's scale factors (nvgScaleFactors of the training data). */
  scaleFactors?: readonly number[];
}

export function createGeneratorRun(
  method: PipelineMethod,
  tokenizer: Tokenizer,
  config: object,
  options: GeneratorRunOptions,
): Promise<GeneratorRun> {
  if (method === 'nvg') return NvgGeneratorRun.create(tokenizer as NvgTokenizer, config as NvgConfig, options);
  return ScaleGeneratorRun.create(method, tokenizer, config, options);
}
