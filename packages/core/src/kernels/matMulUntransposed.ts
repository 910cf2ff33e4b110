import * as tf from '@tensorflow/tfjs-core';

/** Below this many rows, transposing an operand costs more than the scalar loop it avoids. */
const MIN_ROWS = 16;

/**
 * Whether `matMulUntransposed` pays off: one float32 product (no batch, or a batch of one) with a transposed operand
 * and at least 16 rows. (Measured on tfjs-wasm 4.22, one thread: 9–15× faster for a linear layer's weight gradient
 * [2064, 64]ᵀ · [2064, 256] and its input gradient [2064, 64] · [256, 64]ᵀ, slower at one row.)
 */
export function fitsMatMulUntransposed(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): boolean {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !(transposeA || transposeB)) return false;
  const single = (shape: readonly number[]) => shape.slice(0, -2).every((d) => d === 1);
  const rows = a.shape[a.shape.length - (transposeA ? 1 : 2)]!;
  return single(a.shape) && single(b.shape) && rows >= MIN_ROWS;
}

/**
 * tf.matMul(a, b, transposeA, transposeB) with the transposes done first, so that the product itself has none:
 * tfjs-wasm hands only an untransposed single product to XNNPACK and runs the others in a scalar loop, which made
 * every linear layer's backward pass (dW = xᵀ·dy, dx = dy·Wᵀ) the bulk of a training step there.
 */
export function matMulUntransposed(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  return tf.tidy(() => {
    const [a0, a1] = a.shape.slice(-2) as [number, number];
    const [b0, b1] = b.shape.slice(-2) as [number, number];
    const a_XY = tf.reshape(a, [a0, a1]);
    const b_XY = tf.reshape(b, [b0, b1]);
    const y_MN = tf.matMul(transposeA ? tf.transpose(a_XY) : a_XY, transposeB ? tf.transpose(b_XY) : b_XY);
    const ones = (a.rank >= b.rank ? a : b).shape.slice(0, -2);
    return tf.reshape(y_MN, [...ones, ...y_MN.shape]);
  });
}
