import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, checkTensor, describeShape, describeValue, resize, ShapeError } from '@nextdetail/core';
import { pilBicubicWeights } from './pilBicubicWeights.js';

/**
 * How images become the network's 299×299 input (reference-digest §7.2):
 * - `tf1` (default): TF1 `ResizeBilinear` without half-pixel centres (src = dst·in/out), then (x − 128)/128 — the
 *   graph's own preprocessing, used by TTUR, improved-gan, ADM (and so VAR's published numbers) and torch-fidelity.
 * - `pytorch-fid`: `F.interpolate(bilinear, align_corners=False)` (half-pixel centres) of x/255, then 2x − 1.
 * - `clean-fid`: clean-fid's "clean" mode: PIL bicubic with antialiasing per channel in float, clipped to [0, 255]
 *   without requantising, then (x − 128)/128.
 */
export const PREPROCESS_MODES = ['tf1', 'pytorch-fid', 'clean-fid'] as const;
export type PreprocessMode = (typeof PREPROCESS_MODES)[number];

export const INCEPTION_SIZE = 299;

export function checkPreprocessMode(mode: unknown, argument = 'preprocess'): asserts mode is PreprocessMode {
  if (!(PREPROCESS_MODES as readonly unknown[]).includes(mode)) {
    throw new InvalidArgumentError(argument, `one of ${PREPROCESS_MODES.map((m) => `"${m}"`).join(', ')}`, describeValue(mode));
  }
}

function pilResize(x: tf.Tensor4D, size: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    let y: tf.Tensor = tf.reshape(x, [b * h, w, c]);
    // Width first, then height, as Pillow resamples horizontally first.
    if (w !== size) y = tf.matMul(tf.tensor3d(pilBicubicWeights(w, size), [1, size, w]), y);
    y = tf.reshape(y, [b, h, size * c]);
    if (h !== size) y = tf.matMul(tf.tensor3d(pilBicubicWeights(h, size), [1, size, h]), y);
    return tf.reshape(y, [b, size, size, c]) as tf.Tensor4D;
  });
}

/**
 * images_BHWC: RGB images [B, H, W, 3] with values in [0, 255] (float32 or int32, e.g. uint8 pixels) → the network
 * input [B, 299, 299, 3] in the chosen mode. Values are not range-checked here (that would need a read-back).
 */
export function preprocessForInception(images_BHWC: tf.Tensor4D, mode: PreprocessMode = 'tf1'): tf.Tensor4D {
  checkTensor(images_BHWC, 'images', { rank: 4, dtype: ['float32', 'int32'] });
  checkPreprocessMode(mode);
  if (images_BHWC.shape[3] !== 3) throw new ShapeError('images', 'RGB images [B, H, W, 3]', `shape ${describeShape(images_BHWC.shape)}`);
  const s = INCEPTION_SIZE;
  return tf.tidy(() => {
    const x = tf.cast(images_BHWC, 'float32') as tf.Tensor4D;
    if (mode === 'tf1') return tf.div(tf.sub(resize(x, [s, s], 'bilinear-tf1'), 128), 128) as tf.Tensor4D;
    if (mode === 'pytorch-fid') return tf.sub(tf.mul(resize(tf.div(x, 255) as tf.Tensor4D, [s, s], 'bilinear'), 2), 1) as tf.Tensor4D;
    return tf.div(tf.sub(tf.clipByValue(pilResize(x, s), 0, 255), 128), 128) as tf.Tensor4D;
  });
}
