import * as tf from '@tensorflow/tfjs-core';
import type { ResolvedGeneratorConfig } from './generatorConfig.js';
import { attention } from './kernels/attention/register.js';
import { linear, linearSpec } from './linear.js';
import type { ParameterSpecs, ParameterStore } from './parameterStore.js';

/** Keys and values of the tokens attended to so far, [B, H, L, hd] each. */
export type KeysValues = {
  k_BHLc: tf.Tensor4D;
  v_BHLc: tf.Tensor4D;
};

/** The upper clamp of the learned log-scale: float32(ln 100), as `torch.log(torch.tensor(100)).item()` gives it. */
const MAX_LOG_SCALE = Math.fround(Math.log(100));

export function selfAttentionSpec(prefix: string, c: ResolvedGeneratorConfig): ParameterSpecs {
  const C = c.width;
  return {
    ...(c.attnL2Norm ? { [`${prefix}.scale_mul_1H11`]: { shape: [1, c.heads, 1, 1] } } : {}),
    [`${prefix}.q_bias`]: { shape: [C] },
    [`${prefix}.v_bias`]: { shape: [C] },
    ...linearSpec(`${prefix}.mat_qkv`, C, 3 * C, false),
    ...linearSpec(`${prefix}.proj`, C, C),
  };
}

/** x / max(‖x‖₂, 1e-12) over the last axis (torch.nn.functional.normalize). */
function l2Normalize(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), -1, true)), 1e-12));
}

function heads(x_BLC: tf.Tensor, H: number): tf.Tensor4D {
  const [B, L, C] = x_BLC.shape as [number, number, number];
  return tf.transpose(tf.reshape(x_BLC, [B, L, H, C / H]), [0, 2, 1, 3]);
}

// FoundationVision/VAR@78b9539:models/basic_var.py SelfAttention.forward: qkv = x·W_qkvᵀ + [q_bias, 0, v_bias]; with
// attn_l2_norm q ← normalize(q)·exp(min(scale_mul, ln 100)), k ← normalize(k), softmax scale 1, else scale 0.25/√hd;
// with a KV cache the new keys/values are appended to the cached ones before attending.
/**
 * Multi-head self-attention of `x_BLC` [B, L, C]. `keyLimit_L` int32 [L] masks attention (query q sees keys k <
 * keyLimit_L[q], blockCausalKeyLimits' form); null lets every query see every key; `past` the cached keys/values. Returns the projected output and the
 * keys/values including this call's tokens.
 */
export function selfAttention(
  params: ParameterStore,
  prefix: string,
  c: ResolvedGeneratorConfig,
  x_BLC: tf.Tensor,
  keyLimit_L: tf.Tensor1D | null,
  past: KeysValues | null,
): { out_BLC: tf.Tensor } & KeysValues {
  return tf.tidy(() => {
    const [B, L, C] = x_BLC.shape as [number, number, number];
    const H = c.heads;
    const qkv_BL3C = linear(x_BLC, params.get(`${prefix}.mat_qkv.weight`));
    const [qRaw, kRaw, vRaw] = tf.split(qkv_BL3C, 3, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    let q_BHLc: tf.Tensor = heads(tf.add(qRaw, params.get(`${prefix}.q_bias`)), H);
    let k_BHLc: tf.Tensor = heads(kRaw, H);
    let v_BHLc: tf.Tensor = heads(tf.add(vRaw, params.get(`${prefix}.v_bias`)), H);
    let scale = 0.25 / Math.sqrt(C / H);
    if (c.attnL2Norm) {
      const mul_1H11 = tf.exp(tf.minimum(params.get(`${prefix}.scale_mul_1H11`), MAX_LOG_SCALE));
      q_BHLc = tf.mul(l2Normalize(q_BHLc), mul_1H11);
      k_BHLc = l2Normalize(k_BHLc);
      scale = 1;
    }
    if (past) {
      k_BHLc = tf.concat([past.k_BHLc, k_BHLc], 2);
      v_BHLc = tf.concat([past.v_BHLc, v_BHLc], 2);
    }
    const o_BHLc = attention(q_BHLc as tf.Tensor4D, k_BHLc as tf.Tensor4D, v_BHLc as tf.Tensor4D, scale, keyLimit_L);
    const o_BLC = tf.reshape(tf.transpose(o_BHLc, [0, 2, 1, 3]), [B, L, C]);
    const out_BLC = linear(o_BLC, params.get(`${prefix}.proj.weight`), params.get(`${prefix}.proj.bias`));
    return { out_BLC, k_BHLc: k_BHLc as tf.Tensor4D, v_BHLc: v_BHLc as tf.Tensor4D };
  });
}
