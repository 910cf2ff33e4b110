import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@nextdetail/core';
import { editImages, type Generation, type ImageEditOptions, type Pipeline } from '@nextdetail/samplers';
import type { TokenPlan } from '@nextdetail/tokenizers';
import { stepProgressBar } from '../progress/stepProgressBar.js';
import { rastersFromImages } from '../render/imageRasters.js';
import type { ClassSelection } from './classLabels.js';
import { disposeGeneration } from './disposeGeneration.js';
import { greyedOut, regionErrors, writeEditOutputs } from './editOutputs.js';
import type { SamplingFlags } from './samplingOptions.js';

/** The scale-based pipelines, the ones that can teacher-force an image's tokens. */
export type ScalePipeline = Exclude<Pipeline, { method: 'nvg' }>;

/** Refuses NVG pipelines for masked editing (its stages are clusters, not grids a mask can be laid on). */
export function scalePipeline(pipeline: Pipeline): ScalePipeline {
  if (pipeline.method === 'nvg') {
    throw new InvalidArgumentError('--model', 'a VAR, CART or FlexVAR pipeline (masked editing teacher-forces grid tokens)', 'an NVG pipeline');
  }
  return pipeline;
}

function disposePlan(plan: TokenPlan): void {
  for (const step of plan.steps) {
    step.idx_Bl.dispose();
    if (step.kind === 'granularity') step.labels_Bl.dispose();
  }
}

/**
 * The image's tokenizer reconstruction (decode ∘ encode on the tokenizer's schedule for its size, the plan editImages
 * teacher-forces): what an edit can at best keep of the known pixels.
 */
export async function reconstruct(pipeline: ScalePipeline, images_BHWC: tf.Tensor4D): Promise<tf.Tensor4D> {
  const plan = await pipeline.tokenizer.encode(images_BHWC);
  try {
    return pipeline.tokenizer.decode(plan);
  } finally {
    disposePlan(plan);
  }
}

/** `image_1HWC` repeated for a batch of `B`. */
export function repeatImage(image_1HWC: tf.Tensor4D, B: number): tf.Tensor4D {
  return tf.tidy(() => tf.tile(image_1HWC, [B, 1, 1, 1]) as tf.Tensor4D);
}

/**
 * In- and out-painting (VAR demo_zero_shot_edit.ipynb, FlexVAR §4.4) with a pipeline: samplers' editImages, which
 * teacher-forces the images' own tokens where the mask keeps and generates the rest.
 */
export function maskedEdit(pipeline: ScalePipeline, options: ImageEditOptions): Promise<Generation> {
  return editImages(pipeline.tokenizer, pipeline.generator, options);
}

/** What `inpaint` and `outpaint` share: the image, what to keep of it, and where the results go. */
export interface MaskedEditRun {
  pipeline: ScalePipeline;
  flags: SamplingFlags & { forcedTokens?: number };
  selection: ClassSelection;
  /** The image (or canvas) to edit [1, H, W, 3] and its keep mask [H, W] (1 kept, 0 regenerated). */
  image_1HWC: tf.Tensor4D;
  keep_HW: tf.Tensor2D;
  /** The progress bar's label, e.g. "in-painting". */
  activity: string;
  out: string;
  sheet: string;
  /** What the sheet's first panel shows, for the printout. */
  sheetPanels: string;
}

/**
 * Edits the image once per selected class with `maskedEdit` under a step progress bar, writes the results and the
 * before/after sheet, and prints how far each result stays from the tokenizer's reconstruction in the kept and the
 * regenerated region. Frees everything it allocates.
 */
export async function runMaskedEdit(run: MaskedEditRun): Promise<void> {
  const { pipeline, flags, selection, image_1HWC, keep_HW } = run;
  const B = selection.labels.length;
  const held: tf.Tensor[] = [];
  try {
    const images_BHWC = repeatImage(image_1HWC, B);
    const keep_BHW = tf.tidy(() => tf.tile(tf.expandDims(keep_HW, 0), [B, 1, 1]) as tf.Tensor3D);
    held.push(images_BHWC, keep_BHW);
    const reconstruction_1HWC = await reconstruct(pipeline, image_1HWC);
    held.push(reconstruction_1HWC);
    const [, H, W] = image_1HWC.shape;
    const bar = stepProgressBar(run.activity, pipeline.tokenizer.schedule([H, W]).length);
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
      const names = selection.rows.map((r) => r.name);
      await writeEditOutputs({ out: run.out, sheet: run.sheet, names, before: greyedOut(original!, keep), reconstruction: reconstruction!, results });
      results.forEach((result, i) => {
        const e = regionErrors(result, reconstruction!, keep);
        console.log(`mean |result − reconstruction|  ${names[i]}: kept ${e.kept.toFixed(4)}, regenerated ${e.generated.toFixed(4)}`);
      });
      console.log(`output          ${run.out}`);
      console.log(`sheet           ${run.sheet} (${run.sheetPanels})`);
    } finally {
      disposeGeneration(generation);
    }
  } finally {
    tf.dispose(held);
  }
}
