import * as tf from '@tensorflow/tfjs-core';
import { MASKED_SCORE } from '../../blockCausalMask.js';

/**
 * The per-query key limits int32 [Lq] of an additive prefix mask broadcastable to [.., Lq, Lk] (0 on each row's first
 * keys, MASKED_SCORE after, as blockCausalMask gives with queries and keys in scale order): the count of unmasked keys
 * per row. Null when the mask varies over batch rows or heads, which limits cannot describe.
 */
export function keyLimitsOfPrefixMask(bias: tf.Tensor): tf.Tensor1D | null {
  const [Lq, Lk] = bias.shape.slice(-2) as [number, number];
  if (bias.size !== Lq * Lk) return null;
  return tf.tidy(() => tf.sum(tf.cast(tf.greater(tf.reshape(bias, [Lq, Lk]), MASKED_SCORE / 2), 'int32'), 1) as tf.Tensor1D);
}
