import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, InvalidArgumentError, type RandomGenerator } from '@nextdetail/core';
import { maskDescendingTopP } from './descendingTopP.js';
import { checkTopKTopP, maskTopKTopP } from './varTopKTopP.js';

export interface SampleTokensOptions {
  /** 0 disables; 1 is greedy and needs no generator. */
  topK?: number;
  /** 0 disables. */
  topP?: number;
  /** `var` (VAR/FlexVAR, ascending mass ≤ 1 − p removed) or `descending` (Hugging Face, used by NVG). */
  topPRule?: 'var' | 'descending';
  temperature?: number;
  /** Required unless topK is 1. */
  rng?: RandomGenerator;
}

/**
 * One token per row: mask with top-k/top-p, then draw from softmax(logits/τ) with the seeded generator (Gumbel-max,
 * the same distribution as torch.multinomial; PyTorch's stream itself cannot be reproduced). topK = 1 is argmax, which
 * is what the reference traces record. Returns int32 [B].
 */
export function sampleTokens(logits_BV: tf.Tensor2D, options: SampleTokensOptions = {}): tf.Tensor1D {
  const { topK = 0, topP = 0, topPRule = 'var', temperature = 1, rng } = options;
  checkTopKTopP(logits_BV, topK, topP);
  checkNumber(temperature, 'temperature', { min: 0, exclusiveMin: true });
  if (topPRule !== 'var' && topPRule !== 'descending') {
    throw new InvalidArgumentError('topPRule', '"var" or "descending"', JSON.stringify(topPRule));
  }
  if (topK === 1) return tf.tidy(() => tf.cast(tf.argMax(logits_BV, 1), 'int32') as tf.Tensor1D);
  if (!rng) throw new InvalidArgumentError('rng', 'a RandomGenerator (sampling with topK ≠ 1 is random)', 'undefined');
  const masked_BV = tf.tidy(() =>
    topPRule === 'var' || topP === 0
      ? maskTopKTopP(logits_BV, { topK, topP })
      : maskDescendingTopP(maskTopKTopP(logits_BV, { topK }), topP),
  );
  try {
    return rng.categorical(masked_BV, temperature);
  } finally {
    masked_BV.dispose();
  }
}
