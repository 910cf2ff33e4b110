import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, ShapeError } from '@nextdetail/core';

export interface TopKTopPOptions {
  /** Keep the k largest logits per row (ties at the k-th value survive); 0 disables, k ≥ V keeps every entry. */
  topK?: number;
  /** Keep the smallest set of largest logits whose probability mass exceeds p; 0 disables. */
  topP?: number;
}

export function checkTopKTopP(logits_BV: unknown, topK: number, topP: number): asserts logits_BV is tf.Tensor2D {
  checkTensor(logits_BV, 'logits_BV', { rank: 2, dtype: 'float32' });
  if (logits_BV.shape[1] === 0) throw new ShapeError('logits_BV', '[B, V] with V ≥ 1', describeShape(logits_BV.shape));
  checkNumber(topK, 'topK', { min: 0, integer: true });
  checkNumber(topP, 'topP', { min: 0, max: 1 });
}

/**
 * FoundationVision/VAR@78b9539:models/helpers.py sample_with_top_k_top_p_ (the masking half): logits below the k-th
 * largest become −∞; then, in ascending order, entries whose cumulative softmax mass is ≤ 1 − p become −∞, never the
 * largest. FlexVAR samples with the same function. Returns new logits; the input is left as it was.
 */
export function maskTopKTopP(logits_BV: tf.Tensor2D, options: TopKTopPOptions = {}): tf.Tensor2D {
  const { topK = 0, topP = 0 } = options;
  checkTopKTopP(logits_BV, topK, topP);
  const [B, V] = logits_BV.shape;
  return tf.tidy(() => {
    let masked_BV: tf.Tensor2D = logits_BV.clone();
    if (topK > 0 && topK < V) {
      const thr_B1 = tf.slice(tf.topk(masked_BV, topK, true).values, [0, topK - 1], [B, 1]);
      masked_BV = tf.where(tf.less(masked_BV, thr_B1), tf.fill([B, V], -Infinity), masked_BV);
    }
    if (topP > 0) {
      const sorted = tf.topk(masked_BV, V, true);
      const probsDesc_BV = tf.softmax(sorted.values);
      // The reference sorts ascending and takes a forward cumsum; in descending order that is the reverse cumsum.
      const massFromHere_BV = tf.cumsum(probsDesc_BV, 1, false, true);
      const notLargest_BV = tf.concat([tf.zeros([B, 1], 'bool'), tf.ones([B, V - 1], 'bool')], 1);
      const removeDesc_BV = tf.logicalAnd(tf.lessEqual(massFromHere_BV, 1 - topP), notLargest_BV);
      const remove_BV = scatterBack(removeDesc_BV as tf.Tensor2D, sorted.indices as tf.Tensor2D);
      masked_BV = tf.where(remove_BV, tf.fill([B, V], -Infinity), masked_BV);
    }
    return masked_BV;
  });
}

/** Puts per-row values given in sorted order (`order_BV` = original column of each) back in the original order. */
export function scatterBack(sortedValues_BV: tf.Tensor2D, order_BV: tf.Tensor2D): tf.Tensor2D {
  const [B, V] = order_BV.shape;
  return tf.tidy(() => {
    const rows_BV = tf.tile(tf.reshape(tf.range(0, B, 1, 'int32'), [B, 1]), [1, V]);
    const coords_N2 = tf.reshape(tf.stack([rows_BV, tf.cast(order_BV, 'int32')], 2), [B * V, 2]);
    const values_N = tf.reshape(tf.cast(sortedValues_BV, 'float32'), [B * V]);
    const scattered_BV = tf.scatterND(coords_N2, values_N, [B, V]) as tf.Tensor2D;
    return sortedValues_BV.dtype === 'bool' ? (tf.greater(scattered_BV, 0.5) as tf.Tensor2D) : scattered_BV;
  });
}
