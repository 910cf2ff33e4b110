import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError, readSafetensors } from '@nextdetail/core';
import { convertPipeline, type PipelineInfo, type PipelineSampling, STRUCTURE_SOURCES } from '@nextdetail/samplers';
import { Command, Option } from 'commander';
import { renameArgument } from '../argumentNames.js';
import { readPipelineBytes } from '../generation/openPipeline.js';
import { RECOMMENDABLE_FLAGS } from '../generation/samplingOptions.js';
import { numberList } from '../generation/commaList.js';
import { numberArgument } from '../numberArgument.js';
import { checkChoice } from '../train/presets.js';
import { withStructureFrom } from '../train/structureFrom.js';

const DTYPES = ['float16', 'float32'] as const;

type ConvertFlags = PipelineSampling & {
  dtype: string;
  out?: string;
  clearSampling?: boolean;
  structureFrom?: string;
};

export function convertCommand(): Command {
  return new Command('convert')
    .description(
      'rewrite a pipeline file with its weights as float16 (half the size, for downloads) or float32, and optionally the sampling settings it recommends (what generate, eval and the web demo use where no flag says otherwise)',
    )
    .argument('<model>', 'pipeline .safetensors to convert')
    .option('--dtype <type>', `number format of the weights (${DTYPES.join(', ')})`, 'float16')
    .option('--out <file>', 'converted pipeline file (default: <model> with -<dtype> before .safetensors)')
    .option('--cfg <value>', 'recommend this classifier-free guidance scale (NVG: the last stage\'s content guidance)', numberArgument)
    .option('--top-k <n>', 'recommend this top-k', numberArgument)
    .option('--top-p <p>', 'recommend this top-p (NVG: the last stage\'s)', numberArgument)
    .option('--temperature <t>', 'recommend this softmax temperature', numberArgument)
    .option('--structure-steps <n>', 'NVG: recommend this many Euler steps of the structure flow', numberArgument)
    .addOption(new Option('--structure-source <source>', 'NVG: recommend where the structure maps come from').choices(STRUCTURE_SOURCES))
    .option('--structure-refinements <n>', 'NVG: recommend this many re-splits of each structure map by the next stage\'s prediction', numberArgument)
    .addOption(new Option('--structure-cfg <start,end>', 'NVG: recommend this structure guidance ramp (of the flow, or of the prediction that splits)').argParser(numberList))
    .option('--clear-sampling', 'drop the file\'s recommended sampling settings (before adding any given here)')
    .option('--structure-from <model>', 'NVG: take the structure-flow network from this pipeline (same tokenizer and sizes), e.g. one trained with train --parts structure')
    .action((model: string, flags: ConvertFlags) => runConvert(model, flags));
}

async function runConvert(model: string, flags: ConvertFlags): Promise<void> {
  const dtype = checkChoice(flags.dtype, DTYPES, '--dtype');
  const out = flags.out ?? `${model.replace(/\.safetensors$/, '')}-${dtype}.safetensors`;
  if (out === model) throw new InvalidArgumentError('--out', 'a file other than the model being converted', JSON.stringify(out));
  const read = await readPipelineBytes(model, '<model>');
  const bytes = flags.structureFrom === undefined ? read : await withStructureFrom(read, await readPipelineBytes(flags.structureFrom, '--structure-from'), flags.structureFrom);
  const given = Object.fromEntries(Object.keys(RECOMMENDABLE_FLAGS).flatMap((key) => (flags[key as keyof PipelineSampling] === undefined ? [] : [[key, flags[key as keyof PipelineSampling]]])));
  const changes = flags.clearSampling || Object.keys(given).length > 0;
  const sampling = changes ? { ...(flags.clearSampling ? {} : await recommendedSampling(bytes)), ...given } : undefined;
  const names = Object.fromEntries(Object.entries(RECOMMENDABLE_FLAGS).map(([key, flag]) => [`options.sampling.${key}`, flag]));
  const converted = await convertPipeline(bytes, { dtype, ...(sampling === undefined ? {} : { sampling: Object.keys(sampling).length > 0 ? sampling : null }) }).catch(
    (err: unknown) => {
      throw renameArgument(err, names);
    },
  );
  await writeFile(out, converted);
  console.log(`model           ${model} (${(read.length / 1e6).toFixed(2)} MB)`);
  if (flags.structureFrom !== undefined) console.log(`structure flow  from ${flags.structureFrom}`);
  console.log(`output          ${out} (${(converted.length / 1e6).toFixed(2)} MB, ${dtype})`);
  if (sampling !== undefined) {
    const words = Object.entries(sampling).map(([key, value]) => `${RECOMMENDABLE_FLAGS[key as keyof PipelineSampling]} ${value}`);
    console.log(`sampling        ${words.length > 0 ? words.join(', ') : 'none'} (recommended by the file)`);
  }
}

/** The sampling settings a pipeline file's bytes recommend now. */
async function recommendedSampling(bytes: Uint8Array): Promise<PipelineSampling> {
  const file = await readSafetensors(bytes);
  try {
    return (JSON.parse(file.metadata.info ?? '{}') as PipelineInfo).sampling ?? {};
  } catch {
    return {};
  } finally {
    await file.close();
  }
}
