import * as tf from '@tensorflow/tfjs-core';
import { MASKED_SCORE } from '../../blockCausalKeyLimits.js';

/** The additive score mask [Lq, Lk] of per-query key limits: 0 for keys before the query's limit, MASKED_SCORE after. */
export function limitBias(keyLimit_Lq: tf.Tensor1D, Lk: number): tf.Tensor2D {
  return tf.tidy(() => {
    const visible_LqLk = tf.less(tf.expandDims(tf.range(0, Lk, 1, 'int32'), 0), tf.expandDims(keyLimit_Lq, 1));
    return tf.where(visible_LqLk, tf.zeros([1, 1]), tf.fill([1, 1], MASKED_SCORE)) as tf.Tensor2D;
  });
}

// FoundationVision/VAR@78b9539:models/basic_var.py SelfAttention.forward (the non-flash path): softmax(q·scale·kᵀ +
// bias)·v per batch row and head, the softmax max-subtracted in float32 (tf.softmax).
/**
 * Scaled-dot-product attention from core ops: `q_BHLc` [B, H, Lq, c], `k_BHLc`/`v_BHLc` [B, H, Lk, c]; query i sees
 * the keys j < keyLimit_Lq[i] (every key when it is null).
 */
export function attentionComposite(
  q_BHLc: tf.Tensor4D,
  k_BHLc: tf.Tensor4D,
  v_BHLc: tf.Tensor4D,
  scale: number,
  keyLimit_Lq: tf.Tensor1D | null,
): tf.Tensor4D {
  return tf.tidy(() => {
    const qs_BHLc = scale === 1 ? q_BHLc : tf.mul(q_BHLc, scale);
    let scores_BHLL: tf.Tensor = tf.matMul(qs_BHLc as tf.Tensor4D, k_BHLc, false, true);
    if (keyLimit_Lq) scores_BHLL = tf.add(scores_BHLL, limitBias(keyLimit_Lq, k_BHLc.shape[2]));
    return tf.matMul(tf.softmax(scores_BHLL) as tf.Tensor4D, v_BHLc);
  });
}
