import * as tf from '@tensorflow/tfjs-core';

// FoundationVision/VAR@78b9539:models/basic_var.py FFN uses nn.GELU(approximate='tanh'); AdaLN linears use nn.SiLU.

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * GELU, tanh approximation: 0.5·x·(1 + tanh(u)) with u = √(2/π)·(x + 0.044715·x³), computed as x·σ(2u), the same
 * function (1 + tanh(u) = 2σ(2u)) in fewer ops: wasm's Sigmoid runs in XNNPACK, about 8× faster than its Tanh.
 */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const twiceInner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), 2 * SQRT_2_OVER_PI);
    return tf.mul(x, tf.sigmoid(twiceInner));
  });
}

/** SiLU: x·σ(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** LayerNorm over the last axis without affine parameters (VAR's `ln_wo_grad`, elementwise_affine=False). */
export function layerNorm(x: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  });
}

/** LN(x)·(1 + scale) + shift: VAR's adaptive LayerNorm modulation. */
export function modulate(x: tf.Tensor, eps: number, scale: tf.Tensor, shift: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.mul(layerNorm(x, eps), tf.add(scale, 1)), shift));
}
