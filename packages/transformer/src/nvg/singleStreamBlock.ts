import * as tf from '@tensorflow/tfjs-core';
import { geluTanh } from '../activations.js';
import { linear, type LinearParams } from './linear.js';
import { modulatedLayerNorm } from './modulatedLayerNorm.js';
import type { RotaryTable } from './structureAwareRope.js';

const RMS_NORM_EPS = 1e-6;

/**
 * One block's parameters, rearranged at load time from the state dict (`modulation.lin`, `linear1`, `linear2`,
 * `norm.{query,key}_norm.scale`) so that a forward pass never slices activations along their last axis (slow on the
 * CPU backend): `linear1` becomes separate q, k, v and MLP projections, and q and k are split further into the even
 * and odd channels of every head — the two halves RoPE rotates against each other. Attention scores are the same
 * under this channel order because q and k share it.
 */
export type SingleStreamBlockParams = {
  /** D → 3D (shift, scale, gate). */
  modulation: LinearParams;
  /** D → H·hd/2: channels 2m (even) and 2m + 1 (odd) of each head, head-major. */
  queryEven: LinearParams;
  queryOdd: LinearParams;
  keyEven: LinearParams;
  keyOdd: LinearParams;
  /** D → D, head-major. */
  value: LinearParams;
  /** D → M. */
  mlp: LinearParams;
  /** RMSNorm scales of the even and odd channels, [hd/2] each. */
  queryScaleEven: tf.Tensor;
  queryScaleOdd: tf.Tensor;
  keyScaleEven: tf.Tensor;
  keyScaleOdd: tf.Tensor;
  /** linear2's rows for the attention output [D, D] and the MLP output [M, D], and its bias [D]. */
  outAttention_DD: tf.Tensor;
  outMlp_MD: tf.Tensor;
  outBias_D: tf.Tensor;
};

/** The names of a block's rearranged tensors (suffixes after `{block}.`), in the order `splitBlockTensors` returns. */
export const BLOCK_TENSOR_NAMES = [
  'modulation.weight',
  'modulation.bias',
  'query_even.weight',
  'query_even.bias',
  'query_odd.weight',
  'query_odd.bias',
  'key_even.weight',
  'key_even.bias',
  'key_odd.weight',
  'key_odd.bias',
  'value.weight',
  'value.bias',
  'mlp.weight',
  'mlp.bias',
  'query_scale_even',
  'query_scale_odd',
  'key_scale_even',
  'key_scale_odd',
  'out_attention.weight',
  'out_mlp.weight',
  'out.bias',
] as const;

/** A block's state-dict tensors in tfjs layout (Linear weights [in, out]), as host arrays. */
export interface BlockStateDict {
  modulationWeight: Float32Array;
  modulationBias: Float32Array;
  linear1Weight: Float32Array;
  linear1Bias: Float32Array;
  linear2Weight: Float32Array;
  linear2Bias: Float32Array;
  queryScale: Float32Array;
  keyScale: Float32Array;
}

/**
 * Rearranges one block's state dict (width `d`, `heads` heads, MLP width `mlp`) into the tensors of
 * BLOCK_TENSOR_NAMES, with their tfjs shapes. Host-side, once at load time.
 */
export function splitBlockTensors(sd: BlockStateDict, d: number, heads: number, mlp: number): { data: Float32Array; shape: number[] }[] {
  const hd = d / heads;
  const half = hd / 2;
  const cols = 3 * d + mlp;
  // Columns of linear1's [D, 3D + M] weight picked into a [D, n] matrix (and the bias likewise).
  const pick = (columns: number[]) => {
    const weight = new Float32Array(d * columns.length);
    for (let i = 0; i < d; i++) columns.forEach((c, j) => (weight[i * columns.length + j] = sd.linear1Weight[i * cols + c]!));
    return [
      { data: weight, shape: [d, columns.length] },
      { data: Float32Array.from(columns, (c) => sd.linear1Bias[c]!), shape: [columns.length] },
    ];
  };
  const range = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);
  const parity = (start: number, odd: number) =>
    Array.from({ length: heads * half }, (_, i) => start + Math.floor(i / half) * hd + 2 * (i % half) + odd);
  const scaleParity = (scale: Float32Array, odd: number) => ({
    data: Float32Array.from({ length: half }, (_, m) => scale[2 * m + odd]!),
    shape: [half],
  });
  return [
    { data: sd.modulationWeight, shape: [d, 3 * d] },
    { data: sd.modulationBias, shape: [3 * d] },
    ...pick(parity(0, 0)),
    ...pick(parity(0, 1)),
    ...pick(parity(d, 0)),
    ...pick(parity(d, 1)),
    ...pick(range(2 * d, d)),
    ...pick(range(3 * d, mlp)),
    scaleParity(sd.queryScale, 0),
    scaleParity(sd.queryScale, 1),
    scaleParity(sd.keyScale, 0),
    scaleParity(sd.keyScale, 1),
    { data: sd.linear2Weight.slice(0, d * d), shape: [d, d] },
    { data: sd.linear2Weight.slice(d * d), shape: [mlp, d] },
    { data: sd.linear2Bias, shape: [d] },
  ];
}

/**
 * The inverse of `splitBlockTensors`: a block's state dict (tfjs layout) from its rearranged tensors, given as host
 * arrays in BLOCK_TENSOR_NAMES order. Used to export a trained generator under the reference names.
 */
export function mergeBlockTensors(parts: Float32Array[], d: number, heads: number, mlp: number): BlockStateDict {
  const hd = d / heads;
  const half = hd / 2;
  const cols = 3 * d + mlp;
  const linear1Weight = new Float32Array(d * cols);
  const linear1Bias = new Float32Array(cols);
  const place = (weight: Float32Array, bias: Float32Array, columns: number[]) => {
    for (let i = 0; i < d; i++) columns.forEach((c, j) => (linear1Weight[i * cols + c] = weight[i * columns.length + j]!));
    columns.forEach((c, j) => (linear1Bias[c] = bias[j]!));
  };
  const range = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);
  const parity = (start: number, odd: number) =>
    Array.from({ length: heads * half }, (_, i) => start + Math.floor(i / half) * hd + 2 * (i % half) + odd);
  const part = (name: (typeof BLOCK_TENSOR_NAMES)[number]) => parts[BLOCK_TENSOR_NAMES.indexOf(name)]!;
  place(part('query_even.weight'), part('query_even.bias'), parity(0, 0));
  place(part('query_odd.weight'), part('query_odd.bias'), parity(0, 1));
  place(part('key_even.weight'), part('key_even.bias'), parity(d, 0));
  place(part('key_odd.weight'), part('key_odd.bias'), parity(d, 1));
  place(part('value.weight'), part('value.bias'), range(2 * d, d));
  place(part('mlp.weight'), part('mlp.bias'), range(3 * d, mlp));
  const interleave = (even: Float32Array, odd: Float32Array) => Float32Array.from({ length: hd }, (_, c) => (c % 2 ? odd : even)[c >> 1]!);
  const linear2Weight = new Float32Array((d + mlp) * d);
  linear2Weight.set(part('out_attention.weight'), 0);
  linear2Weight.set(part('out_mlp.weight'), d * d);
  return {
    modulationWeight: part('modulation.weight'),
    modulationBias: part('modulation.bias'),
    linear1Weight,
    linear1Bias,
    linear2Weight,
    linear2Bias: part('out.bias'),
    queryScale: interleave(part('query_scale_even'), part('query_scale_odd')),
    keyScale: interleave(part('key_scale_even'), part('key_scale_odd')),
  };
}

/** [B, T, H·n] → [B, H, T, n]. */
function toHeads(x_BTN: tf.Tensor, heads: number): tf.Tensor {
  const [b, t, n] = x_BTN.shape as [number, number, number];
  return tf.transpose(tf.reshape(x_BTN, [b, t, heads, n / heads]), [0, 2, 1, 3]);
}

/**
 * QK-RMSNorm (x / sqrt(mean(x²) + 1e-6) · scale over a head's channels) and RoPE ((x0, x1) → (cos·x0 − sin·x1,
 * sin·x0 + cos·x1) per channel pair) of one head-split projection given as its even and odd channels [B, H, T, hd/2].
 */
function normAndRotate(even: tf.Tensor, odd: tf.Tensor, scaleEven: tf.Tensor, scaleOdd: tf.Tensor, rope: RotaryTable): [tf.Tensor, tf.Tensor] {
  const half = even.shape[3]!;
  const meanSquare = tf.div(tf.add(tf.sum(tf.square(even), -1, true), tf.sum(tf.square(odd), -1, true)), 2 * half);
  const rrms = tf.rsqrt(tf.add(meanSquare, RMS_NORM_EPS));
  const x0 = tf.mul(tf.mul(even, rrms), scaleEven);
  const x1 = tf.mul(tf.mul(odd, rrms), scaleOdd);
  const { cos_B1TF: cos, sin_B1TF: sin } = rope;
  return [tf.sub(tf.mul(cos, x0), tf.mul(sin, x1)), tf.add(tf.mul(sin, x0), tf.mul(cos, x1))];
}

/**
 * FLUX's single-stream block on `x_BTD` [B, T, D] with conditioning `vec_BD`: parallel attention and MLP branches
 * from one modulated LayerNorm, QK-RMSNorm per head, RoPE from `rope`, no attention mask, one gated residual:
 * x + gate·linear2([softmax(q·kᵀ/√hd)·v, gelu_tanh(mlp)]).
 */
// NVG paper App. A.4 (FLUX block with parallel linear layers); reference digest §3.3 "Block (FLUX single-stream)"
export function singleStreamBlock(
  x_BTD: tf.Tensor,
  vec_BD: tf.Tensor,
  rope: RotaryTable,
  params: SingleStreamBlockParams,
  heads: number,
): tf.Tensor {
  return tf.tidy(() => {
    const [b, t, d] = x_BTD.shape as [number, number, number];
    const headDim = d / heads;
    const [shift_BD, scale_BD, gate_BD] = tf.split(linear(tf.mul(vec_BD, tf.sigmoid(vec_BD)), params.modulation), 3, -1);
    const xm_BTD = modulatedLayerNorm(x_BTD, shift_BD!, scale_BD!);
    const [q0, q1] = normAndRotate(
      toHeads(linear(xm_BTD, params.queryEven), heads),
      toHeads(linear(xm_BTD, params.queryOdd), heads),
      params.queryScaleEven,
      params.queryScaleOdd,
      rope,
    );
    const [k0, k1] = normAndRotate(
      toHeads(linear(xm_BTD, params.keyEven), heads),
      toHeads(linear(xm_BTD, params.keyOdd), heads),
      params.keyScaleEven,
      params.keyScaleOdd,
      rope,
    );
    const v_BHTd = toHeads(linear(xm_BTD, params.value), heads);
    const scores_BHTT = tf.div(tf.add(tf.matMul(q0, k0, false, true), tf.matMul(q1, k1, false, true)), Math.sqrt(headDim));
    const attn_BHTd = tf.matMul(tf.softmax(scores_BHTT), v_BHTd);
    const attn_ND = tf.reshape(tf.transpose(attn_BHTd, [0, 2, 1, 3]), [b * t, d]);
    const mlp_NM = tf.reshape(geluTanh(linear(xm_BTD, params.mlp)), [b * t, -1]);
    const out_ND = tf.add(tf.add(tf.matMul(attn_ND, params.outAttention_DD), tf.matMul(mlp_NM, params.outMlp_MD)), params.outBias_D);
    return tf.add(x_BTD, tf.mul(tf.expandDims(gate_BD!, 1), tf.reshape(out_ND, [b, t, d])));
  });
}
