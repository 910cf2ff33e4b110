import * as tf from '@tensorflow/tfjs-core';

const LAYER_NORM_EPS = 1e-6;

/**
 * (1 + scale)·LN(x) + shift with a LayerNorm over the last axis of `x_BTD` that has no affine parameters (eps 1e-6,
 * biased variance); `shift_BD` and `scale_BD` are per batch item.
 */
// Reference digest §3.3 "Block (FLUX single-stream)" and last layer
export function modulatedLayerNorm(x_BTD: tf.Tensor, shift_BD: tf.Tensor, scale_BD: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x_BTD, -1, true);
    const normed = tf.mul(tf.sub(x_BTD, mean), tf.rsqrt(tf.add(variance, LAYER_NORM_EPS)));
    return tf.add(tf.mul(normed, tf.add(tf.expandDims(scale_BD, 1), 1)), tf.expandDims(shift_BD, 1));
  });
}
