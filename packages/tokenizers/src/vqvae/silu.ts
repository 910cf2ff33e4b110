import * as tf from '@tensorflow/tfjs-core';

/** SiLU (swish) x·σ(x), VAR's VAE nonlinearity; tfjs has no op for it and no fused-conv activation either. */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}
