import * as tf from '@tensorflow/tfjs-core';

// Classifier-free guidance runs both branches as one batch, conditional rows first (guidedLogits' layout).

/** Class ids [B] followed by the unconditional class for every item, [2B]. */
export function withUnconditional(classLabels_B: tf.Tensor, numClasses: number): tf.Tensor {
  return tf.tidy(() => tf.concat([classLabels_B, tf.fill(classLabels_B.shape, numClasses, 'int32')], 0));
}

/** `x` twice along the batch axis, [2B, ...]. */
export function twice(x: tf.Tensor): tf.Tensor {
  return tf.concat([x, x], 0);
}
