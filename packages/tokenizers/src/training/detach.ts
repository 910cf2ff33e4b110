import * as tf from '@tensorflow/tfjs-core';

/** x with a zero gradient: PyTorch's `x.detach()` / `x.data` inside a recorded function (tfjs has no stop-gradient). */
const detachOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  const shape = x.shape;
  return { value: tf.clone(x), gradFunc: () => [tf.zeros(shape)] };
});

export function detach<T extends tf.Tensor>(x: T): T {
  return detachOp(x) as T;
}

/**
 * The straight-through estimator: the value of `quantized`, the gradient of `continuous` (x + (q − x).detach()).
 */
// FoundationVision/VAR@78b9539:models/quant.py VectorQuantizer2.forward (f_hat = (f_hat.data − f_no_grad).add_(f_BChw))
export function straightThrough<T extends tf.Tensor>(continuous: T, quantized: T): T {
  return tf.tidy(() => tf.add(continuous, detach(tf.sub(quantized, continuous))) as T);
}
