import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, type RandomGenerator } from '@nextdetail/core';

/** softmax((logits + g)/τ) with g ~ Gumbel(0, 1) from the seeded generator (VAR's gumbel_softmax_with_rng, hard=False). */
export function gumbelSoftmax(logits_BV: tf.Tensor2D, tau: number, rng: RandomGenerator): tf.Tensor2D {
  checkTensor(logits_BV, 'logits_BV', { rank: 2, dtype: 'float32' });
  checkNumber(tau, 'tau', { min: 0, exclusiveMin: true });
  const g_BV = rng.gumbel(logits_BV.shape);
  try {
    return tf.tidy(() => tf.softmax(tf.div(tf.add(logits_BV, g_BV), tau)) as tf.Tensor2D);
  } finally {
    g_BV.dispose();
  }
}

/**
 * VAR's `more_smooth` (models/var.py autoregressive_infer_cfg): instead of the sampled code, the next input uses a
 * Gumbel-softmax mixture of codes over the masked logits sharpened by (1 + ratio), at temperature
 * max(0.27·(1 − 0.95·ratio), 0.005), where ratio = si/(SN − 1). Returns the mixture weights [B, V]; multiply by the
 * codebook for the embedding.
 */
export function moreSmoothWeights(maskedLogits_BV: tf.Tensor2D, ratio: number, rng: RandomGenerator): tf.Tensor2D {
  checkNumber(ratio, 'ratio', { min: 0, max: 1 });
  const tau = Math.max(0.27 * (1 - 0.95 * ratio), 0.005);
  const sharpened_BV = tf.mul(maskedLogits_BV, 1 + ratio) as tf.Tensor2D;
  try {
    return gumbelSoftmax(sharpened_BV, tau, rng);
  } finally {
    sharpened_BV.dispose();
  }
}
