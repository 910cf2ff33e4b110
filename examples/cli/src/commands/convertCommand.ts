import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@nextdetail/core';
import { convertPipeline } from '@nextdetail/samplers';
import { Command } from 'commander';
import { readPipelineBytes } from '../generation/openPipeline.js';
import { checkChoice } from '../train/presets.js';

const DTYPES = ['float16', 'float32'] as const;

interface ConvertFlags {
  dtype: string;
  out?: string;
}

export function convertCommand(): Command {
  return new Command('convert')
    .description('rewrite a pipeline file with its weights as float16 (half the size, for downloads) or float32')
    .argument('<model>', 'pipeline .safetensors to convert')
    .option('--dtype <type>', `number format of the weights (${DTYPES.join(', ')})`, 'float16')
    .option('--out <file>', 'converted pipeline file (default: <model> with -<dtype> before .safetensors)')
    .action((model: string, flags: ConvertFlags) => runConvert(model, flags));
}

async function runConvert(model: string, flags: ConvertFlags): Promise<void> {
  const dtype = checkChoice(flags.dtype, DTYPES, '--dtype');
  const out = flags.out ?? `${model.replace(/\.safetensors$/, '')}-${dtype}.safetensors`;
  if (out === model) throw new InvalidArgumentError('--out', 'a file other than the model being converted', JSON.stringify(out));
  const bytes = await readPipelineBytes(model, '<model>');
  const converted = await convertPipeline(bytes, { dtype });
  await writeFile(out, converted);
  console.log(`model           ${model} (${(bytes.length / 1e6).toFixed(2)} MB)`);
  console.log(`output          ${out} (${(converted.length / 1e6).toFixed(2)} MB, ${dtype})`);
}
