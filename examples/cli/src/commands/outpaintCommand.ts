import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@nextdetail/core';
import { disposePipeline } from '@nextdetail/samplers';
import { Command, Option } from 'commander';
import { renameArgument } from '../argumentNames.js';
import { describeBackend, startBackend } from '../backend.js';
import { selectClasses } from '../generation/classLabels.js';
import { runMaskedEdit, scalePipeline } from '../generation/editImage.js';
import { imagesFromRasters } from '../render/imageRasters.js';
import { integerList } from '../generation/commaList.js';
import { openPipeline } from '../generation/openPipeline.js';
import { outputPath } from '../generation/outputPath.js';
import { readPng } from '../generation/readPng.js';
import { addSamplingOptions, checkSamplingFlags, SAMPLING_FLAG_NAMES, type SamplingFlags, withRecommendedSampling } from '../generation/samplingOptions.js';
import { numberArgument } from '../numberArgument.js';
import { sheetPathFor } from './inpaintCommand.js';

interface OutpaintFlags extends Omit<SamplingFlags, 'size'> {
  model?: string;
  image: string;
  pad?: number[];
  size?: number[];
  class?: string[];
  forcedTokens?: number;
  out: string;
  sheet?: string;
  backend?: string;
}

/** The canvas [H, W] and where the input's top-left corner goes, from `--pad t,r,b,l` or `--size H,W` (centred). */
function canvasOf(flags: OutpaintFlags, h: number, w: number): { size: [number, number]; offset: [number, number] } {
  if ((flags.pad === undefined) === (flags.size === undefined)) {
    throw new InvalidArgumentError('--pad', 'either --pad t,r,b,l or --size H,W (exactly one)', flags.pad ? 'both' : 'neither');
  }
  if (flags.pad !== undefined) {
    const [t, r, b, l] = flags.pad;
    if (flags.pad.length !== 4 || flags.pad.some((p) => p < 0) || t! + r! + b! + l! === 0) {
      throw new InvalidArgumentError('--pad', 'four non-negative pixel counts t,r,b,l, not all 0', flags.pad.join(','));
    }
    return { size: [h + t! + b!, w + l! + r!], offset: [t!, l!] };
  }
  const [H, W] = flags.size!.length === 1 ? [flags.size![0]!, flags.size![0]!] : flags.size!;
  if (flags.size!.length > 2 || !(H! >= h && W! >= w) || (H === h && W === w)) {
    throw new InvalidArgumentError('--size', `H,W larger than the ${h}×${w} input`, flags.size!.join(','));
  }
  return { size: [H!, W!], offset: [Math.floor((H! - h) / 2), Math.floor((W! - w) / 2)] };
}

export function outpaintCommand(): Command {
  const command = new Command('outpaint')
    .description('extend an image onto a larger canvas with a VAR, CART or FlexVAR pipeline (FlexVAR §4.4 image expansion)')
    .requiredOption('--model <file>', 'pipeline .safetensors (VAR, CART or FlexVAR; VAR and CART only fill up to their own size)')
    .requiredOption('--image <png>', 'the known part, kept at its size')
    .addOption(new Option('--pad <t,r,b,l>', 'pixels to add on each side').argParser(integerList))
    .addOption(new Option('--size <h,w>', 'the canvas size; the input is centred').argParser(integerList))
    .option('--class <ids or names...>', 'class of the extension, one result per class ("none": unconditional, the default)')
    .option('--forced-tokens <n>', 'steps with at most n tokens are taken wholly from the canvas (VAR: 3)', numberArgument);
  addSamplingOptions(command, { schedule: false });
  return command
    .option('--out <file>', 'result PNG (several classes: side by side)', 'outpainted.png')
    .option('--sheet <file>', 'before/after sheet PNG (default: <out>-sheet.png)')
    .option('--backend <list>', 'tfjs backends to try in order (default: $NEXTDETAIL_BACKEND, else webgpu,wasm,cpu)')
    .action(async (flags: OutpaintFlags) => {
      try {
        await runOutpaint(flags);
      } catch (err) {
        throw renameArgument(err, { ...SAMPLING_FLAG_NAMES, labels: '--class', size: '--size', offset: '--pad', 'edit.forcedTokens': '--forced-tokens' });
      }
    });
}

async function runOutpaint(flags: OutpaintFlags): Promise<void> {
  const started = performance.now();
  const input = await readPng(flags.image, '--image');
  const { size, offset } = canvasOf(flags, input.height, input.width);
  const out = await outputPath(flags.out, '--out');
  const sheet = await outputPath(flags.sheet ?? sheetPathFor(out), '--sheet');
  const backend = await startBackend(flags.backend, (name, reason) => console.error(`note: skipped backend ${name}: ${reason}`));
  const pipeline = scalePipeline(await openPipeline(flags.model));
  const held: tf.Tensor[] = [];
  try {
    checkSamplingFlags({ ...flags, size: undefined }, pipeline);
    const s = pipeline.info.imageSize;
    const flag = flags.pad ? '--pad' : '--size';
    if (pipeline.method !== 'flexvar' && (size[0] !== s || size[1] !== s)) {
      throw new InvalidArgumentError(flag, `a ${s}×${s} canvas (a ${pipeline.method} model has one size)`, size.join('×'));
    }
    const f = pipeline.tokenizer.downsampleFactor;
    if (size[0] % f !== 0 || size[1] % f !== 0) {
      throw new InvalidArgumentError(flag, `a canvas whose sides are multiples of ${f} (the tokenizer's factor)`, size.join('×'));
    }
    const selection = selectClasses(flags.class ?? ['none'], pipeline.info.classNames, 1);
    console.log(`backend         ${describeBackend(backend)}`);
    console.log(`model           ${pipeline.method}, ${pipeline.info.classNames.length} classes, ${s} px`);
    const image_1HWC = imagesFromRasters([input], [input.height, input.width]);
    held.push(image_1HWC);
    const pads: [number, number][] = [[offset[0], size[0] - input.height - offset[0]], [offset[1], size[1] - input.width - offset[1]]];
    const canvas_1HWC = tf.tidy(() => tf.pad(image_1HWC, [[0, 0], ...pads, [0, 0]]) as tf.Tensor4D);
    const keep_HW = tf.tidy(() => tf.pad(tf.ones([input.height, input.width]), pads) as tf.Tensor2D);
    held.push(canvas_1HWC, keep_HW);
    console.log(`image           ${flags.image} (${input.height}×${input.width}) at ${offset.join(',')} on ${size.join('×')}`);
    await runMaskedEdit({
      pipeline,
      flags: withRecommendedSampling(flags, pipeline).flags,
      selection,
      image_1HWC: canvas_1HWC,
      keep_HW,
      activity: 'out-painting',
      out,
      sheet,
      sheetPanels: 'canvas with the unknown part greyed | its reconstruction | result',
    });
  } finally {
    tf.dispose(held);
    disposePipeline(pipeline);
  }
  console.log(`total           ${((performance.now() - started) / 1000).toFixed(2)} s`);
}
