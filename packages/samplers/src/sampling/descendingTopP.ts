import * as tf from '@tensorflow/tfjs-core';
import { checkTopKTopP, scatterBack } from './varTopKTopP.js';

/**
 * The Hugging Face top-p that NVG samples with (digest §3.4): sort descending, drop every entry whose cumulative
 * probability *before* it already exceeds p (the "shift right" that always keeps the most likely token). It keeps the
 * same set as VAR's ascending rule except when that mass equals p exactly, but p = 0 here keeps only the maximum where
 * VAR reads 0 as "off".
 */
export function maskDescendingTopP(logits_BV: tf.Tensor2D, topP: number): tf.Tensor2D {
  checkTopKTopP(logits_BV, 0, topP);
  const [B, V] = logits_BV.shape;
  return tf.tidy(() => {
    const sorted = tf.topk(logits_BV, V, true);
    const massBefore_BV = tf.cumsum(tf.softmax(sorted.values), 1, true);
    const remove_BV = scatterBack(tf.greater(massBefore_BV, topP) as tf.Tensor2D, sorted.indices as tf.Tensor2D);
    return tf.where(remove_BV, tf.fill([B, V], -Infinity), logits_BV) as tf.Tensor2D;
  });
}
