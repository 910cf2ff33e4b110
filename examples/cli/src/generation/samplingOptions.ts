import { InvalidArgumentError } from '@nextdetail/core';
import { type Pipeline, type PipelineSampling, STRUCTURE_SOURCES, type StructureSource } from '@nextdetail/samplers';
import { type Command, Option } from 'commander';
import { numberArgument } from '../numberArgument.js';
import { integerList, numberList } from './commaList.js';

/** The sampling flags every generating command shares. */
export interface SamplingFlags {
  seed: number;
  cfg?: number;
  topK?: number;
  topP?: number;
  temperature?: number;
  structureSteps?: number;
  structureSource?: StructureSource;
  structureRefinements?: number;
  structureCfg?: number[];
  size?: number[];
  steps?: number;
}

/** Adds the sampling flags to `command`. */
export function addSamplingOptions(command: Command, { schedule = true } = {}): Command {
  command
    .option('--seed <n>', 'seed of every random choice', numberArgument, 0)
    .option('--cfg <value>', 'classifier-free guidance scale (NVG: the last stage\'s content guidance; default 1.5, NVG 3.5)', numberArgument)
    .option('--top-k <n>', 'sample among the k most likely tokens (0: all; default 0)', numberArgument)
    .option('--top-p <p>', 'nucleus sampling mass (0: off; NVG: the last stage\'s top-p; default off, NVG 0.5)', numberArgument)
    .option('--temperature <t>', 'softmax temperature (default 1)', numberArgument)
    .option('--structure-steps <n>', 'NVG: Euler steps of the structure flow (default 25)', numberArgument)
    .addOption(
      new Option('--structure-source <source>', "NVG: where each next structure map comes from: the structure flow, or bisecting every cluster by the content generator's prediction (default flow)").choices(
        STRUCTURE_SOURCES,
      ),
    )
    .option('--structure-refinements <n>', "NVG: re-split each new structure map by the next stage's prediction n times (default 0)", numberArgument)
    .addOption(
      new Option('--structure-cfg <c|start,end>', "NVG: structure guidance, of the flow or of the prediction that splits: the last stage's (a ramp from 1), or the first and last stage's (default 1,2.5)").argParser(
        numberList,
      ),
    );
  if (schedule) {
    command
      .addOption(new Option('--size <h,w>', 'FlexVAR: output size in pixels, any multiple of the tokenizer\'s factor').argParser(integerList))
      .option('--steps <n>', 'FlexVAR: number of coarse-to-fine steps (a schedule from 1 to the last grid)', numberArgument);
  }
  return command;
}

/** Checks the flags that only some methods read, so that none is silently ignored. */
export function checkSamplingFlags(flags: SamplingFlags, pipeline: Pipeline): void {
  if (!Number.isInteger(flags.seed)) throw new InvalidArgumentError('--seed', 'an integer', String(flags.seed));
  if (pipeline.method !== 'flexvar') {
    for (const [name, value] of [['--size', flags.size], ['--steps', flags.steps]] as const) {
      if (value !== undefined) throw new InvalidArgumentError(name, 'only with a FlexVAR model (VAR, CART and NVG have fixed schedules)', `a ${pipeline.method} model`);
    }
  }
  if (pipeline.method !== 'nvg') {
    const nvgFlags = [
      ['--structure-steps', flags.structureSteps],
      ['--structure-source', flags.structureSource],
      ['--structure-refinements', flags.structureRefinements],
      ['--structure-cfg', flags.structureCfg],
    ] as const;
    for (const [name, value] of nvgFlags) {
      if (value !== undefined) throw new InvalidArgumentError(name, 'only with an NVG model', `a ${pipeline.method} model`);
    }
  }
  if (flags.structureCfg !== undefined && (flags.structureCfg.length < 1 || flags.structureCfg.length > 2)) {
    throw new InvalidArgumentError('--structure-cfg', 'one number (the last stage\'s) or start,end', flags.structureCfg.join(','));
  }
  if (flags.size !== undefined && (flags.size.length < 1 || flags.size.length > 2 || flags.size.some((s) => s < 1))) {
    throw new InvalidArgumentError('--size', 'H,W or S in pixels (positive integers)', flags.size.join(','));
  }
}

/**
 * The flags with the model's recommended settings (its file's `info.sampling`) wherever a flag is absent, and a line
 * that says which were taken (undefined if none).
 */
export function withRecommendedSampling<F extends SamplingFlags>(flags: F, pipeline: Pipeline): { flags: F; taken?: string } {
  const taken = Object.entries(pipeline.info.sampling ?? {}).filter(([key]) => flags[key as keyof SamplingFlags] === undefined);
  if (taken.length === 0) return { flags };
  const words = taken.map(([key, value]) => `${RECOMMENDABLE_FLAGS[key as keyof PipelineSampling]} ${value}`);
  return { flags: { ...flags, ...Object.fromEntries(taken) }, taken: `${words.join(', ')} (the model's recommendation)` };
}

/** The flag of each recommendable setting. */
export const RECOMMENDABLE_FLAGS: Readonly<Record<keyof PipelineSampling, string>> = {
  cfg: '--cfg',
  topK: '--top-k',
  topP: '--top-p',
  temperature: '--temperature',
  structureSteps: '--structure-steps',
  structureSource: '--structure-source',
  structureRefinements: '--structure-refinements',
  structureCfg: '--structure-cfg',
};

/** Library argument names → these flags, for renameArgument. */
export const SAMPLING_FLAG_NAMES: Readonly<Record<string, string>> = {
  ...RECOMMENDABLE_FLAGS,
  'options.topK': '--top-k',
  'options.temperature': '--temperature',
  contentCfg: '--cfg',
  steps: '--steps',
  height: '--size',
  width: '--size',
  imageSize: '--size',
};
