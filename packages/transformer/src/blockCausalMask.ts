import * as tf from '@tensorflow/tfjs-core';
import type { ScaleLayout } from './scales.js';

/**
 * Added to masked attention scores. Finite so that no backend meets −∞ arithmetic; exp of (it − row max) is exactly 0
 * in float32, as exp(−∞) is in the reference.
 */
export const MASKED_SCORE = -1e30;

// FoundationVision/VAR@78b9539:models/var.py attn_bias_for_masking: a query may attend to a key iff the key's scale
// is not later than the query's (d = lvl_1L, mask where d ≥ dᵀ).
/** The additive block-causal attention bias [1, 1, L, L]: 0 where allowed, MASKED_SCORE elsewhere. */
export function blockCausalMask(layout: ScaleLayout): tf.Tensor4D {
  const L = layout.length;
  const level = new Int32Array(L);
  layout.begin.forEach((b, si) => {
    const [h, w] = layout.sizes[si]!;
    level.fill(si, b, b + h * w);
  });
  const bias = new Float32Array(L * L);
  for (let q = 0; q < L; q++) {
    for (let k = 0; k < L; k++) if (level[k]! > level[q]!) bias[q * L + k] = MASKED_SCORE;
  }
  return tf.tensor4d(bias, [1, 1, L, L]);
}
