import * as tf from '@tensorflow/tfjs';
import type { Generation } from '@nextdetail/samplers';

/** Frees a generation's images and every tensor of its plan (an NVG step also holds its structure map). */
export function disposeGeneration(generation: Generation): void {
  tf.dispose(generation.images_BHWC);
  for (const step of generation.plan.steps) {
    step.idx_Bl.dispose();
    if (step.kind === 'granularity') step.labels_Bl.dispose();
  }
}
