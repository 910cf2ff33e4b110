import * as tf from '@tensorflow/tfjs-core';

/** Below this many rows and columns per product, the fixed cost of a grouped convolution outweighs its speed. */
const MIN_ROWS = 16;
const MIN_COLUMNS = 16;

/**
 * Whether `batchMatMulGrouped` pays off for this product: an unbroadcast float32 batch of more than one product,
 * each with at least 16 × 16 outputs. (Measured on tfjs-wasm 4.22, one thread: 5–6× faster at [100, 129, 64] ·
 * [100, 64, 129], 2× at 16 × 680 outputs, slower at one row, where the weights' packing costs as much as the product.)
 */
export function fitsBatchMatMulGrouped(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): boolean {
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || batchA.length === 0) return false;
  if (batchA.length !== batchB.length || batchA.some((d, i) => d !== batchB[i])) return false;
  const rows = a.shape[a.shape.length - (transposeA ? 1 : 2)]!;
  const columns = b.shape[b.shape.length - (transposeB ? 2 : 1)]!;
  return batchA.reduce((p, d) => p * d, 1) > 1 && rows >= MIN_ROWS && columns >= MIN_COLUMNS;
}

/**
 * tf.matMul(a, b, transposeA, transposeB) for `a` [..., M, K] and `b` [..., K, N] with equal batch dimensions, as one
 * depthwise convolution: the n products become n groups, each a 1 × K filter with N outputs per channel,
 * y[0, i, 0, g·N + j] = Σ_k x[0, i, k, g] · f[0, k, g, j] with x[0, i, k, g] = a[g, i, k] and f[0, k, g, j] = b[g, k, j].
 * tfjs-wasm runs a batched BatchMatMul in a scalar loop but a convolution in XNNPACK's SIMD GEMM, hence this route.
 */
export function batchMatMulGrouped(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  return tf.tidy(() => {
    const batch = a.shape.slice(0, -2);
    const n = batch.reduce((p, d) => p * d, 1);
    const [a0, a1] = a.shape.slice(-2) as [number, number];
    const [b0, b1] = b.shape.slice(-2) as [number, number];
    const [M, K] = transposeA ? [a1, a0] : [a0, a1];
    const N = transposeB ? b0 : b1;
    const a_nXY = tf.reshape(a, [n, a0, a1]);
    const b_nXY = tf.reshape(b, [n, b0, b1]);
    const x_1MKn = tf.reshape<tf.Rank.R4>(tf.transpose(a_nXY, transposeA ? [2, 1, 0] : [1, 2, 0]), [1, M, K, n]);
    const f_1KnN = tf.reshape<tf.Rank.R4>(tf.transpose(b_nXY, transposeB ? [2, 0, 1] : [1, 0, 2]), [1, K, n, N]);
    const y_MnN = tf.reshape(tf.depthwiseConv2d(x_1MKn, f_1KnN, 1, 'valid'), [M, n, N]);
    return tf.reshape(tf.transpose(y_MnN, [1, 0, 2]), [...batch, M, N]);
  });
}
