import { basename, dirname, extname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { disposePipeline } from '@nextdetail/samplers';
import { Command, Option } from 'commander';
import { renameArgument } from '../argumentNames.js';
import { describeBackend, startBackend } from '../backend.js';
import { selectClasses } from '../generation/classLabels.js';
import { disposeGeneration } from '../generation/disposeGeneration.js';
import { maskedEdit, reconstruct, repeatImage, scalePipeline } from '../generation/editImage.js';
import { keepMask } from '../generation/editMask.js';
import { greyedOut, regionErrors, writeEditOutputs } from '../generation/editOutputs.js';
import { imagesFromRasters, rastersFromImages } from '../render/imageRasters.js';
import { integerList } from '../generation/integerList.js';
import { openPipeline } from '../generation/openPipeline.js';
import { outputPath } from '../generation/outputPath.js';
import { readPng } from '../generation/readPng.js';
import { addSamplingOptions, checkSamplingFlags, SAMPLING_FLAG_NAMES, type SamplingFlags } from '../generation/samplingOptions.js';
import { stepProgressBar } from '../progress/stepProgressBar.js';
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
    const B = selection.labels.length;
    const images_BHWC = repeatImage(image_1HWC, B);
    const keep_BHW = tf.tidy(() => tf.tile(tf.expandDims(keep_HW, 0), [B, 1, 1]) as tf.Tensor3D);
    held.push(images_BHWC, keep_BHW);
    const reconstruction_1HWC = await reconstruct(pipeline, image_1HWC);
    held.push(reconstruction_1HWC);
    const steps = pipeline.tokenizer.schedule().length;
    const bar = stepProgressBar('in-painting', steps);
    const generation = await maskedEdit(pipeline, {
      labels: selection.labels,
      seed: flags.seed,
      cfg: flags.cfg ?? 1.5,
      ...(flags.topK === undefined ? {} : { topK: flags.topK }),
      ...(flags.topP === undefined ? {} : { topP: flags.topP }),
      ...(flags.temperature === undefined ? {} : { temperature: flags.temperature }),
      ...(flags.forcedTokens === undefined ? {} : { forcedTokens: flags.forcedTokens }),
      images_BHWC,
      keep_BHW,
      progress: ({ step, size: grid }) => bar.update(step, grid.join('×')),
    }).finally(() => bar.stop());
    try {
      const results = await rastersFromImages(generation.images_BHWC);
      const [reconstruction] = await rastersFromImages(reconstruction_1HWC);
      const [original] = await rastersFromImages(image_1HWC);
      const keep = (await keep_HW.data()) as Float32Array;
      await writeEditOutputs({ out, sheet, names: selection.rows.map((r) => r.name), before: greyedOut(original!, keep), reconstruction: reconstruction!, results });
      console.log(`image           ${flags.image} → ${size[0]}×${size[1]}`);
      results.forEach((result, i) => {
        const e = regionErrors(result, reconstruction!, keep);
        const name = selection.rows[i]!.name;
        console.log(`mean |result − reconstruction|  ${name}: kept ${e.kept.toFixed(4)}, regenerated ${e.generated.toFixed(4)}`);
      });
      console.log(`output          ${out}`);
      console.log(`sheet           ${sheet} (input with the hole greyed | reconstruction | result)`);
    } finally {
      disposeGeneration(generation);
    }
  } finally {
    tf.dispose(held);
    disposePipeline(pipeline);
  }
  console.log(`total           ${((performance.now() - started) / 1000).toFixed(2)} s`);
}
