import * as tf from '@tensorflow/tfjs-core';

/** A PyTorch Linear with its weight in tfjs layout [in, out]. A type alias so that tf.dispose accepts it. */
export type LinearParams = { weight_IO: tf.Tensor; bias_O: tf.Tensor };

/** x·W + b over the last axis of `x` [..., in] → [..., out]. */
export function linear(x: tf.Tensor, { weight_IO, bias_O }: LinearParams): tf.Tensor {
  return tf.tidy(() => {
    const inner = x.shape[x.rank - 1]!;
    const out = weight_IO.shape[1]!;
    const y_NO = tf.add(tf.matMul(tf.reshape(x, [-1, inner]), weight_IO), bias_O);
    return tf.reshape(y_NO, [...x.shape.slice(0, -1), out]);
  });
}
