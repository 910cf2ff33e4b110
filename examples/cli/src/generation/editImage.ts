import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@nextdetail/core';
import { editImages, type Generation, type ImageEditOptions, type Pipeline } from '@nextdetail/samplers';
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
