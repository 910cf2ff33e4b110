import type * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@nextdetail/core';
import { generate, type Generation, type Pipeline, scaleSchedule } from '@nextdetail/samplers';
import type { SamplingFlags } from './samplingOptions.js';

/** Guidance when `--cfg` is absent for VAR, CART and FlexVAR (a mild ramp; VAR's demos use 1.5 to 4). */
const DEFAULT_CFG = 1.5;

/** The grids a scale-based pipeline will generate, coarse to fine; `--size`/`--steps` choose FlexVAR's. */
export function generationSchedule(pipeline: Pipeline, flags: Pick<SamplingFlags, 'size' | 'steps'>): [number, number][] {
  const { tokenizer } = pipeline;
  if (pipeline.method === 'nvg') return pipeline.tokenizer.schedule().map((s) => s.size);
  if (flags.size === undefined && flags.steps === undefined) return tokenizer.schedule().map((s) => s.size);
  const [H, W] = flags.size === undefined ? tokenizer.imageSize : [flags.size[0]!, flags.size[1] ?? flags.size[0]!];
  const f = tokenizer.downsampleFactor;
  if (H % f !== 0 || W % f !== 0) {
    throw new InvalidArgumentError('--size', `multiples of ${f} (the tokenizer's downsampling factor)`, `${H},${W}`);
  }
  // FlexVAR takes any list of grids: the tokenizer's own schedule for the size, or a coarse-to-fine list of the asked
  // length (FlexVAR §3.3).
  if (flags.steps === undefined) return tokenizer.schedule([H, W]).map((s) => s.size);
  return scaleSchedule(H / f, W / f, flags.steps).map(([h, w]) => [h, w]);
}

/** One step of a generation as it happens: its 1-based index, the step count and its grid. */
export type StepEvent = { step: number; steps: number; size: [number, number] };

/**
 * Generates one image per label with a pipeline of any method: the next-scale loop for VAR, CART and FlexVAR (VAR
 * models/var.py autoregressive_infer_cfg), NVG's stage loop otherwise (NVG paper Alg. 2, its CFG and top-p curves
 * ending at `--cfg` and `--top-p`). The caller owns the result.
 */
export async function sampleImages(
  pipeline: Pipeline,
  labels: readonly number[],
  flags: SamplingFlags,
  onStep?: (event: StepEvent) => void,
): Promise<Generation> {
  const sampling = { labels, seed: flags.seed, ...(flags.topK === undefined ? {} : { topK: flags.topK }), ...(flags.temperature === undefined ? {} : { temperature: flags.temperature }) };
  if (pipeline.method === 'nvg') {
    return generate(pipeline.tokenizer, pipeline.generator, {
      ...sampling,
      ...(flags.cfg === undefined ? {} : { contentCfg: [1, flags.cfg] }),
      ...(flags.topP === undefined || flags.topP === 0 ? {} : { topP: [1, flags.topP] }),
      ...(flags.structureSteps === undefined ? {} : { structureSteps: flags.structureSteps }),
      ...(flags.structureSource === undefined ? {} : { structureSource: flags.structureSource }),
      ...(flags.structureRefinements === undefined ? {} : { structureRefinements: flags.structureRefinements }),
      ...(flags.structureCfg === undefined ? {} : { structureCfg: flags.structureCfg.length === 1 ? [1, flags.structureCfg[0]!] : flags.structureCfg }),
      progress: ({ step, steps, size }) => onStep?.({ step, steps, size }),
    });
  }
  // Only FlexVAR takes a schedule; VAR's and CART's are their tokenizer's (CART's step kinds come with it).
  const custom = pipeline.method === 'flexvar' && (flags.size !== undefined || flags.steps !== undefined);
  return generate(pipeline.tokenizer, pipeline.generator, {
    ...sampling,
    cfg: flags.cfg ?? DEFAULT_CFG,
    ...(flags.topP === undefined ? {} : { topP: flags.topP }),
    ...(custom ? { schedule: generationSchedule(pipeline, flags) } : {}),
    progress: ({ step, steps, size }) => onStep?.({ step, steps, size }),
  });
}

/** How many steps `sampleImages` will report. */
export function stepCount(pipeline: Pipeline, flags: SamplingFlags): number {
  return pipeline.method === 'nvg' ? pipeline.tokenizer.stages : generationSchedule(pipeline, flags).length;
}

/** The images after each step of `generation`'s plan (the tokenizer's preview of every prefix), each the caller's. */
export function stepPreviews(pipeline: Pipeline, generation: Generation): tf.Tensor4D[] {
  const steps = generation.plan.steps;
  return steps.map((_, k) => pipeline.tokenizer.preview({ steps: steps.slice(0, k + 1) }));
}
