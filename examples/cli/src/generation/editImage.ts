import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@nextdetail/core';
import { type Generation, generateScalePlan, type Pipeline, type ScaleLoopOptions, scaleSchedule } from '@nextdetail/samplers';
import type { TokenPlan } from '@nextdetail/tokenizers';

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
 * FlexVAR's grids for an image of H × W: a scaleSchedule as long as its tokenizer's (the tokenizer's own schedule for
 * another aspect ratio can start above 1×1). Undefined for VAR and CART, which keep their tokenizer's schedule.
 */
function flexGrids(pipeline: ScalePipeline, H: number, W: number): [number, number][] | undefined {
  if (pipeline.method !== 'flexvar') return undefined;
  const f = pipeline.tokenizer.downsampleFactor;
  return scaleSchedule(H / f, W / f, pipeline.tokenizer.schedule().length).map(([h, w]) => [h, w]);
}

/** The images' token plan on the schedule an edit runs (see maskedEdit). */
function encodeForEdit(pipeline: ScalePipeline, images_BHWC: tf.Tensor4D): Promise<TokenPlan> {
  const [, H, W] = images_BHWC.shape;
  const grids = flexGrids(pipeline, H, W);
  return pipeline.method === 'flexvar' ? pipeline.tokenizer.encode(images_BHWC, { patchNums: grids }) : pipeline.tokenizer.encode(images_BHWC);
}

/** The image's tokenizer reconstruction (decode ∘ encode): what an edit can at best keep of the known pixels. */
export async function reconstruct(pipeline: ScalePipeline, images_BHWC: tf.Tensor4D): Promise<tf.Tensor4D> {
  const plan = await encodeForEdit(pipeline, images_BHWC);
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

export type MaskedEditOptions = Omit<ScaleLoopOptions, 'edit' | 'prefix' | 'imageSize' | 'schedule'> & {
  images_BHWC: tf.Tensor4D;
  /** float32 [B, h, w], 1 keeps the image's tokens, 0 regenerates. */
  keep_BHW: tf.Tensor3D;
  forcedTokens?: number;
};

/**
 * In- and out-painting (VAR demo_zero_shot_edit.ipynb, FlexVAR §4.4): the images' own tokens are teacher-forced
 * where the mask keeps, the rest is generated. This is samplers' editImages, except that VAR and CART run on their
 * tokenizer's own schedule (editImages passes the reference's grids as a schedule, which gives CART's detail steps
 * the base kind) and FlexVAR on flexGrids for the canvas.
 */
export async function maskedEdit(pipeline: ScalePipeline, options: MaskedEditOptions): Promise<Generation> {
  const { images_BHWC, keep_BHW, forcedTokens, ...loop } = options;
  const { tokenizer } = pipeline;
  const [, H, W] = images_BHWC.shape;
  const flex = flexGrids(pipeline, H, W);
  const reference = await encodeForEdit(pipeline, images_BHWC);
  try {
    const edit = { reference, keep_BHW, ...(forcedTokens === undefined ? {} : { forcedTokens }) };
    const plan = await generateScalePlan(tokenizer, pipeline.generator, { ...loop, ...(flex ? { schedule: flex } : {}), edit });
    try {
      return { images_BHWC: tokenizer.decode(plan), plan };
    } catch (err) {
      disposePlan(plan);
      throw err;
    }
  } finally {
    disposePlan(reference);
  }
}
