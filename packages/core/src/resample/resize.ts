import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { checkNumber, checkTensor, describeShape, describeValue } from '../validate.js';
import {
  cachedResampleWeights,
  checkResampleMode,
  resolveAlignCorners,
  type ResampleMode,
  type ResampleOptions,
} from './resampleWeights.js';

/**
 * Resizes NHWC images ([B, H, W, C] or [H, W, C], float32) to `size` = [outHeight, outWidth] the way PyTorch or TF1
 * does (see RESAMPLE_MODES), which tfjs's own resizers do not reproduce. Each axis is one dense weight matrix applied
 * with a broadcast batched matMul and reshapes only, so gradients flow (the adjoint is the transposed matrix) and
 * WebGPU runs it as matmuls. An axis whose size does not change is left untouched: every mode maps n → n to the
 * identity.
 *
 * The matrices are dense: an axis costs in·out multiply-adds per line, cheap at latent sizes but mostly zeros for
 * large images; and a NaN or ±Infinity in the input spreads along its row and column of the output (0·∞ is NaN),
 * where the reference would spoil only the neighbouring samples.
 */
export function resize<T extends tf.Tensor3D | tf.Tensor4D>(
  x: T,
  size: readonly [number, number],
  mode: ResampleMode,
  options?: ResampleOptions,
): T {
  checkTensor(x, 'x', { rank: [3, 4], dtype: 'float32' });
  if (!Array.isArray(size) || size.length !== 2) {
    throw new InvalidArgumentError('size', 'an array [outHeight, outWidth]', describeValue(size));
  }
  const [outH, outW] = size;
  checkNumber(outH, 'size[0]', { integer: true, min: 1 });
  checkNumber(outW, 'size[1]', { integer: true, min: 1 });
  checkResampleMode(mode);
  const alignCorners = resolveAlignCorners(mode, options);
  const [b, h, w, c] = x.rank === 4 ? (x.shape as [number, number, number, number]) : [1, ...x.shape];
  if (h < 1 || w < 1 || c < 1 || b < 1) {
    throw new ShapeError('x', 'no empty dimension', `shape ${describeShape(x.shape)}`);
  }

  return tf.tidy(() => {
    // Width first, then height: torch interpolates the last axis innermost, and float32 rounding follows that order.
    let y: tf.Tensor = tf.reshape(x, [b * h, w, c]);
    if (outW !== w) {
      const mw = tf.tensor3d(cachedResampleWeights(mode, w, outW, alignCorners), [1, outW, w]);
      y = tf.matMul(mw, y);
    }
    y = tf.reshape(y, [b, h, outW * c]);
    if (outH !== h) {
      const mh = tf.tensor3d(cachedResampleWeights(mode, h, outH, alignCorners), [1, outH, h]);
      y = tf.matMul(mh, y);
    }
    return tf.reshape(y, x.rank === 4 ? [b, outH, outW, c] : [outH, outW, c]) as T;
  });
}
