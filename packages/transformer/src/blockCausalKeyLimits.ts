import * as tf from '@tensorflow/tfjs-core';
import type { ScaleLayout } from './scales.js';

/**
 * Added to masked attention scores. Finite so that no backend meets −∞ arithmetic; exp of (it − row max) is exactly 0
 * in float32, as exp(−∞) is in the reference.
 */
export const MASKED_SCORE = -1e30;

// FoundationVision/VAR@78b9539:models/var.py attn_bias_for_masking: a query may attend to a key iff the key's scale
// is not later than the query's. With tokens in scale order that is every key before the end of the query's scale, so
// one limit per query describes the mask (the attention op's form; no L×L tensor).
/** The block-causal mask as per-query key limits, int32 [L]: query q sees keys k < limit[q] (the end of its scale). */
export function blockCausalKeyLimits(layout: ScaleLayout): tf.Tensor1D {
  const limits = new Int32Array(layout.length);
  layout.begin.forEach((b, si) => {
    const [h, w] = layout.sizes[si]!;
    limits.fill(b + h * w, b, b + h * w);
  });
  return tf.tensor1d(limits, 'int32');
}
