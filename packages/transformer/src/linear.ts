import * as tf from '@tensorflow/tfjs-core';
import type { ParameterSpecs } from './parameterStore.js';

/** torch.nn.Linear's parameters: weight [out, in] (stored here transposed, [in, out]) and optionally bias [out]. */
export function linearSpec(name: string, inFeatures: number, outFeatures: number, bias = true): ParameterSpecs {
  return {
    [`${name}.weight`]: { shape: [outFeatures, inFeatures], transform: 'linear' },
    ...(bias ? { [`${name}.bias`]: { shape: [outFeatures] } } : {}),
  };
}

/** y = x·Wᵀ + b over the last axis of `x` (any rank ≥ 2); `w_IO` is the transposed weight. */
export function linear(x: tf.Tensor, w_IO: tf.Tensor, b_O?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [inF, outF] = w_IO.shape as [number, number];
    const lead = x.shape.slice(0, -1);
    const y = tf.matMul(tf.reshape(x, [-1, inF]), w_IO as tf.Tensor2D);
    return tf.reshape(b_O ? tf.add(y, b_O) : y, [...lead, outF]);
  });
}
