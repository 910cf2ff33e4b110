import { basename, dirname, extname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { disposePipeline } from '@nextdetail/samplers';
import { Command, Option } from 'commander';
import { renameArgument } from '../argumentNames.js';
import { describeBackend, startBackend } from '../backend.js';
import { selectClasses } from '../generation/classLabels.js';
import { runMaskedEdit, scalePipeline } from '../generation/editImage.js';
import { keepMask } from '../generation/editMask.js';
import { imagesFromRasters } from '../render/imageRasters.js';
import { integerList } from '../generation/commaList.js';
import { openPipeline } from '../generation/openPipeline.js';
import { outputPath } from '../generation/outputPath.js';
import { readPng } from '../generation/readPng.js';
import { addSamplingOptions, checkSamplingFlags, SAMPLING_FLAG_NAMES, type SamplingFlags, withRecommendedSampling } from '../generation/samplingOptions.js';
import { numberArgument } from '../numberArgument.js';

interface InpaintFlags extends SamplingFlags {
  model?: string;
  image: string;
  mask?: string;
  box?: number[];
  class?: string[];
  forcedTokens?: number;
  out: string;
  sheet?: string;
  backend?: string;
}

/** `out` with `-sheet` before its extension: the default place of the before/after sheet. */
export function sheetPathFor(out: string): string {
  const ext = extname(out) || '.png';
  return join(dirname(out), `${basename(out, extname(out))}-sheet${ext}`);
}

export function inpaintCommand(): Command {
  const command = new Command('inpaint')
    .description('regenerate a hole in an image with a VAR, CART or FlexVAR pipeline (VAR zero-shot editing, FlexVAR §4.4)')
    .requiredOption('--model <file>', 'pipeline .safetensors (VAR, CART or FlexVAR)')
    .requiredOption('--image <png>', 'the image to edit (resized to the model\'s size unless FlexVAR can take it as it is)')
    .option('--mask <png>', 'the hole: white (bright) pixels are regenerated, black ones kept')
    .addOption(new Option('--box <x,y,w,h>', 'the hole as a rectangle in image pixels').argParser(integerList))
    .option('--class <ids or names...>', 'class of the filling, one result per class ("none": unconditional, the default)')
    .option('--forced-tokens <n>', 'steps with at most n tokens are taken wholly from the image (VAR: 3)', numberArgument);
  addSamplingOptions(command, { schedule: false });
  return command
    .option('--out <file>', 'result PNG (several classes: side by side)', 'inpainted.png')
    .option('--sheet <file>', 'before/after sheet PNG (default: <out>-sheet.png)')
    .option('--backend <list>', 'tfjs backends to try in order (default: $NEXTDETAIL_BACKEND, else webgpu,wasm,cpu)')
    .action(async (flags: InpaintFlags) => {
      try {
        await runInpaint(flags);
      } catch (err) {
        throw renameArgument(err, { ...SAMPLING_FLAG_NAMES, labels: '--class', forcedTokens: '--forced-tokens', 'edit.forcedTokens': '--forced-tokens' });
      }
    });
}

async function runInpaint(flags: InpaintFlags): Promise<void> {
  const started = performance.now();
  const input = await readPng(flags.image, '--image');
  const maskImage = flags.mask === undefined ? undefined : await readPng(flags.mask, '--mask');
  const out = await outputPath(flags.out, '--out');
  const sheet = await outputPath(flags.sheet ?? sheetPathFor(out), '--sheet');
  const backend = await startBackend(flags.backend, (name, reason) => console.error(`note: skipped backend ${name}: ${reason}`));
  const pipeline = scalePipeline(await openPipeline(flags.model));
  const held: tf.Tensor[] = [];
  try {
    checkSamplingFlags(flags, pipeline);
    const selection = selectClasses(flags.class ?? ['none'], pipeline.info.classNames, 1);
    console.log(`backend         ${describeBackend(backend)}`);
    console.log(`model           ${pipeline.method}, ${pipeline.info.classNames.length} classes, ${pipeline.info.imageSize} px`);
    const f = pipeline.tokenizer.downsampleFactor;
    const keepsSize = pipeline.method === 'flexvar' && input.height % f === 0 && input.width % f === 0;
    const size: [number, number] = keepsSize ? [input.height, input.width] : [pipeline.info.imageSize, pipeline.info.imageSize];
    const keep_HW = keepMask({ box: flags.box, mask: maskImage }, size);
    held.push(keep_HW);
    const image_1HWC = imagesFromRasters([input], size);
    held.push(image_1HWC);
    console.log(`image           ${flags.image} → ${size[0]}×${size[1]}`);
    await runMaskedEdit({
      pipeline,
      flags: withRecommendedSampling(flags, pipeline).flags,
      selection,
      image_1HWC,
      keep_HW,
      activity: 'in-painting',
      out,
      sheet,
      sheetPanels: 'input with the hole greyed | reconstruction | result',
    });
  } finally {
    tf.dispose(held);
    disposePipeline(pipeline);
  }
  console.log(`total           ${((performance.now() - started) / 1000).toFixed(2)} s`);
}
