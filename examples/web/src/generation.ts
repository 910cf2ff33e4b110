import * as tf from '@tensorflow/tfjs';
import { editImages, generate, type Generation, type NvgStepEvent, type Pipeline, type ScaleStepEvent, type StructureSource } from '@nextdetail/samplers';
import { imageData } from './imagePixels.js';

/** What the controls ask for. `label` = the class count asks for an unconditional sample. */
export interface GenerationSettings {
  label: number;
  seed: number;
  cfg: number;
  topK: number;
  /**
   * NVG only: the final content CFG scale (a ramp from 1), the structure CFG ramp [first stage, last stage], the
   * structure flow's Euler steps, where the structure maps come from and how often each is refined by the next
   * stage's prediction.
   */
  nvg: { contentCfg: number; structureCfg: [number, number]; structureSteps: number; structureSource: StructureSource; structureRefinements: number };
}

/**
 * The recommended settings the form has no control for (the pipeline file's `info.sampling`): top-p and temperature.
 * NVG's top-p is the end of its curve from 1, as in the CLI.
 */
function recommendedExtras(pipeline: Pipeline): { topP?: number; temperature?: number } {
  const { topP, temperature } = pipeline.info.sampling ?? {};
  return { ...(topP === undefined || topP === 0 ? {} : { topP }), ...(temperature === undefined ? {} : { temperature }) };
}

/** Called with every step's preview as it is produced, coarse to fine; `detail` says what the step added. */
export type StepListener = (step: number, steps: number, detail: string, pixels: ImageData) => Promise<void>;

/** Reads a scale step's preview while the loop waits for the listener (the loop owns the plan until then). */
function scaleProgress(onStep: StepListener) {
  return async (event: ScaleStepEvent): Promise<void> => {
    const preview_BHWC = event.preview();
    const pixels = await imageData(preview_BHWC).finally(() => preview_BHWC.dispose());
    await onStep(event.step, event.steps, `${event.size[0]}×${event.size[1]} tokens`, pixels);
  };
}

/** The final image of a generation; frees the generation's tensors. */
async function finish(result: Generation): Promise<ImageData> {
  try {
    return await imageData(result.images_BHWC);
  } finally {
    tf.dispose([result.images_BHWC, result.plan]);
  }
}

/** Reads an NVG stage's preview (the canvas after that stage, decoded) while the loop waits for the listener. */
function stageProgress(onStep: StepListener) {
  return async (event: NvgStepEvent): Promise<void> => {
    const preview_BHWC = event.preview();
    const pixels = await imageData(preview_BHWC).finally(() => preview_BHWC.dispose());
    const stage = event.plan.steps[event.step - 1]!;
    const detail = stage.kind === 'granularity' ? `${stage.clusters} cluster${stage.clusters === 1 ? '' : 's'}` : `${stage.size.join('×')} tokens`;
    await onStep(event.step, event.steps, detail, pixels);
  };
}

/**
 * Class-conditional generation with every step shown as it is produced: scales for VAR, CART and FlexVAR, stages for
 * NVG. With `structure` (NVG), the region map guides the first stages (NVG paper §3.2).
 */
export async function generateImage(
  pipeline: Pipeline,
  settings: GenerationSettings,
  onStep: StepListener,
  structure?: tf.Tensor2D,
): Promise<ImageData> {
  const { label, seed, cfg, topK } = settings;
  if (pipeline.method !== 'nvg') {
    const options = { labels: [label], seed, cfg, topK, ...recommendedExtras(pipeline), progress: scaleProgress(onStep) };
    return finish(await generate(pipeline.tokenizer, pipeline.generator, options));
  }
  const { contentCfg, structureCfg, structureSteps, structureSource, structureRefinements } = settings.nvg;
  const { topP, temperature } = recommendedExtras(pipeline);
  return finish(
    await generate(pipeline.tokenizer, pipeline.generator, {
      labels: [label],
      seed,
      topK,
      contentCfg: [1, contentCfg],
      structureCfg,
      structureSteps,
      structureSource,
      structureRefinements,
      ...(topP === undefined ? {} : { topP: [1, topP] }),
      ...(temperature === undefined ? {} : { temperature }),
      ...(structure ? { structure: { map: structure } } : {}),
      progress: stageProgress(onStep),
    }),
  );
}

/**
 * In-painting (VAR's zero-shot edit, FlexVAR §4.4): the image's own tokens are kept where `keep_BHW` is 1 and the
 * rest is generated for the chosen class, step by step. NVG has no masked editing in samplers.
 */
export async function inpaintImage(
  pipeline: Pipeline,
  images_BHWC: tf.Tensor4D,
  keep_BHW: tf.Tensor3D,
  settings: GenerationSettings,
  onStep: StepListener,
): Promise<ImageData> {
  if (pipeline.method === 'nvg') throw new Error('in-painting needs a VAR, CART or FlexVAR pipeline (samplers has no masked NVG editing)');
  const { label, seed, cfg, topK } = settings;
  const options = { images_BHWC, keep_BHW, labels: [label], seed, cfg, topK, ...recommendedExtras(pipeline), progress: scaleProgress(onStep) };
  return finish(await editImages(pipeline.tokenizer, pipeline.generator, options));
}
