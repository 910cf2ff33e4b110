import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { describeShape } from '../validate.js';

/**
 * How a PyTorch parameter becomes a tfjs one. PyTorch stores conv kernels OIHW and Linear weights [out, in]; tfjs
 * convolves with HWIO kernels and multiplies x·W with W [in, out]; images are NCHW there and NHWC here.
 */
export type LayoutTransform = 'none' | 'conv2d' | 'linear' | 'nchw';

const PERMUTATIONS: Record<Exclude<LayoutTransform, 'none' | 'linear'>, number[]> = {
  conv2d: [2, 3, 1, 0], // OIHW → HWIO
  nchw: [0, 2, 3, 1], // NCHW → NHWC
};

const RANKS: Record<LayoutTransform, number | null> = { none: null, conv2d: 4, linear: 2, nchw: 4 };

/** The tfjs shape a PyTorch shape turns into under `transform`. */
export function tfjsShape(torchShape: readonly number[], transform: LayoutTransform): number[] {
  if (transform === 'none') return [...torchShape];
  if (transform === 'linear') return [torchShape[1]!, torchShape[0]!];
  return PERMUTATIONS[transform].map((axis) => torchShape[axis]!);
}

/**
 * Converts one PyTorch-layout tensor to tfjs layout (a new tensor; the input is left alone). `name` is used in the
 * error when the rank does not fit the transform.
 */
export function fromTorchLayout(t: tf.Tensor, transform: LayoutTransform, name: string): tf.Tensor {
  const rank = RANKS[transform];
  if (rank !== null && t.rank !== rank) {
    throw new ShapeError(name, `a rank-${rank} tensor for a ${transform} parameter`, `shape ${describeShape(t.shape)}`);
  }
  return tf.tidy(() => {
    if (transform === 'none') return tf.clone(t);
    if (transform === 'linear') return tf.transpose(t, [1, 0]);
    return tf.transpose(t, PERMUTATIONS[transform]);
  });
}

/** NHWC → NCHW, for writing tensors that PyTorch code will read. */
export function nhwcToNchw(t: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(t, [0, 3, 1, 2]);
}
