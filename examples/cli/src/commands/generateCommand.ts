import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { disposePipeline } from '@nextdetail/samplers';
import { Command } from 'commander';
import { renameArgument } from '../argumentNames.js';
import { describeBackend, startBackend } from '../backend.js';
import { disposeGeneration } from '../generation/disposeGeneration.js';
import { selectClasses } from '../generation/classLabels.js';
import { labelledGrid, tileScale } from '../render/labelledGrid.js';
import { rastersFromImages } from '../render/imageRasters.js';
import { openPipeline } from '../generation/openPipeline.js';
import { outputPath } from '../generation/outputPath.js';
import { sampleImages, stepCount, stepPreviews } from '../generation/sampleImages.js';
import { addSamplingOptions, checkSamplingFlags, SAMPLING_FLAG_NAMES, type SamplingFlags, withRecommendedSampling } from '../generation/samplingOptions.js';
import { stepProgressBar } from '../progress/stepProgressBar.js';
import { numberArgument } from '../numberArgument.js';
import { encodePng } from '../png.js';

interface GenerateFlags extends SamplingFlags {
  model?: string;
  class?: string[];
  perClass: number;
  out: string;
  stepsOut?: string;
  backend?: string;
}

export function generateCommand(): Command {
  const command = new Command('generate')
    .description('sample class-conditional images from a pipeline file into a labelled PNG grid (one row per class)')
    .requiredOption('--model <file>', 'pipeline .safetensors (VAR, CART, FlexVAR or NVG)')
    .option('--class <ids or names...>', 'classes to generate, by id or name, or "none" for unconditional (default: all)')
    .option('--per-class <n>', 'images per class (grid columns)', numberArgument, 4);
  addSamplingOptions(command);
  return command
    .option('--out <file>', 'grid PNG to write', 'grid.png')
    .option('--steps-out <dir>', 'also write the grid after every coarse-to-fine step (step_01_1x1.png, …)')
    .option('--backend <list>', 'tfjs backends to try in order (default: $NEXTDETAIL_BACKEND, else webgpu,wasm,cpu)')
    .action(async (flags: GenerateFlags) => {
      try {
        await runGenerate(flags);
      } catch (err) {
        throw renameArgument(err, { ...SAMPLING_FLAG_NAMES, labels: '--class' });
      }
    });
}

async function runGenerate(flags: GenerateFlags): Promise<void> {
  const started = performance.now();
  const out = await outputPath(flags.out, '--out');
  const stepsDir = flags.stepsOut === undefined ? undefined : await outputPath(flags.stepsOut, '--steps-out', { file: false });
  const backend = await startBackend(flags.backend, (name, reason) => console.error(`note: skipped backend ${name}: ${reason}`));
  const pipeline = await openPipeline(flags.model);
  try {
    checkSamplingFlags(flags, pipeline);
    const { flags: sampling, taken } = withRecommendedSampling(flags, pipeline);
    const selection = selectClasses(flags.class, pipeline.info.classNames, flags.perClass);
    console.log(`backend         ${describeBackend(backend)}`);
    console.log(`model           ${pipeline.method}, ${pipeline.info.classNames.length} classes, ${pipeline.info.imageSize} px`);
    if (taken) console.log(`sampling        ${taken}`);
    const steps = stepCount(pipeline, flags);
    const bar = stepProgressBar('generating', steps);
    const generation = await sampleImages(pipeline, selection.labels, sampling, ({ step, size }) => bar.update(step, size.join('×'))).finally(() =>
      bar.stop(),
    );
    try {
      const grid = async (images_BHWC: tf.Tensor4D) => {
        const rasters = await rastersFromImages(images_BHWC);
        const rows = selection.rows.map((row, r) => ({
          label: row.name,
          tiles: rasters.slice(r * flags.perClass, (r + 1) * flags.perClass),
        }));
        return labelledGrid(rows, tileScale(Math.max(images_BHWC.shape[1], images_BHWC.shape[2])));
      };
      const [, H, W] = generation.images_BHWC.shape;
      await writeFile(out, encodePng(await grid(generation.images_BHWC)));
      console.log(`images          ${selection.labels.length} at ${H}×${W} (${selection.rows.length} classes × ${flags.perClass})`);
      console.log(`output          ${out}`);
      if (stepsDir !== undefined) {
        const previews = stepPreviews(pipeline, generation);
        try {
          for (const [k, preview] of previews.entries()) {
            const step = generation.plan.steps[k]!;
            const sized = tf.tidy(() => tf.image.resizeNearestNeighbor(preview, [H, W]));
            const file = `step_${String(k + 1).padStart(2, '0')}_${step.size.join('x')}.png`;
            await writeFile(join(stepsDir, file), encodePng(await grid(sized)));
            sized.dispose();
          }
        } finally {
          tf.dispose(previews);
        }
        console.log(`steps           ${previews.length} previews in ${stepsDir}`);
      }
    } finally {
      disposeGeneration(generation);
    }
  } finally {
    disposePipeline(pipeline);
  }
  console.log(`total           ${((performance.now() - started) / 1000).toFixed(2)} s`);
}
