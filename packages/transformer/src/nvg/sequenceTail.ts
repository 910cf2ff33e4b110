import * as tf from '@tensorflow/tfjs-core';

/**
 * Tokens `start`.. of `x_BTD` [B, T, D], [B, T − start, D]. Sliced one batch item at a time: each item's tail is one
 * contiguous block, which the CPU backend copies at once instead of element by element.
 */
export function sequenceTail(x_BTD: tf.Tensor, start: number): tf.Tensor {
  return tf.tidy(() => tf.stack(tf.unstack(x_BTD, 0).map((x_TD) => tf.slice(x_TD, [start, 0], [-1, -1])), 0));
}
