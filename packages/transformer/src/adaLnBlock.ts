import * as tf from '@tensorflow/tfjs-core';
import { geluTanh, modulate, silu } from './activations.js';
import type { ResolvedGeneratorConfig } from './generatorConfig.js';
import { linear, linearSpec } from './linear.js';
import type { ParameterSpecs, ParameterStore } from './parameterStore.js';
import { type KeysValues, selfAttention, selfAttentionSpec } from './selfAttention.js';

export function adaLnBlockSpec(prefix: string, c: ResolvedGeneratorConfig): ParameterSpecs {
  const C = c.width;
  const hidden = Math.round(C * c.mlpRatio);
  return {
    ...selfAttentionSpec(`${prefix}.attn`, c),
    ...linearSpec(`${prefix}.ffn.fc1`, C, hidden),
    ...linearSpec(`${prefix}.ffn.fc2`, hidden, C),
    ...(c.sharedAdaLn ? { [`${prefix}.ada_gss`]: { shape: [1, 1, 6, C] } } : linearSpec(`${prefix}.ada_lin.1`, C, 6 * C)),
  };
}

// FoundationVision/VAR@78b9539:models/basic_var.py AdaLNSelfAttn.forward: (γ1, γ2, s1, s2, b1, b2) from the block's
// own SiLU+Linear of the condition, or from `ada_gss + shared_ada_lin(cond)` with shared AdaLN;
// x ← x + γ1·attn(LN(x)·(1+s1)+b1); x ← x + γ2·ffn(LN(x)·(1+s2)+b2).
/**
 * One AdaLN self-attention block. `cond` is the class embedding [B, C], or the shared AdaLN output [B, 1, 6, C] when
 * the config shares it. Returns the new hidden state and the block's keys/values (with `past` prepended).
 */
export function adaLnBlock(
  params: ParameterStore,
  prefix: string,
  c: ResolvedGeneratorConfig,
  x_BLC: tf.Tensor,
  cond: tf.Tensor,
  keyLimit_L: tf.Tensor1D | null,
  past: KeysValues | null,
): { x_BLC: tf.Tensor } & KeysValues {
  return tf.tidy(() => {
    const C = c.width;
    const gss_B16C = c.sharedAdaLn
      ? tf.add(params.get(`${prefix}.ada_gss`), cond)
      : tf.reshape(
          linear(silu(cond), params.get(`${prefix}.ada_lin.1.weight`), params.get(`${prefix}.ada_lin.1.bias`)),
          [-1, 1, 6, C],
        );
    const [g1, g2, s1, s2, b1, b2] = tf.unstack(gss_B16C, 2) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const attn = selfAttention(params, `${prefix}.attn`, c, modulate(x_BLC, c.normEps, s1, b1), keyLimit_L, past);
    let x = tf.add(x_BLC, tf.mul(attn.out_BLC, g1));
    const h = linear(modulate(x, c.normEps, s2, b2), params.get(`${prefix}.ffn.fc1.weight`), params.get(`${prefix}.ffn.fc1.bias`));
    const f = linear(geluTanh(h), params.get(`${prefix}.ffn.fc2.weight`), params.get(`${prefix}.ffn.fc2.bias`));
    x = tf.add(x, tf.mul(f, g2));
    return { x_BLC: x, k_BHLc: attn.k_BHLc, v_BHLc: attn.v_BHLc };
  });
}
