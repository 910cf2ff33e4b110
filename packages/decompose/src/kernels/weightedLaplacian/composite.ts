import * as tf from '@tensorflow/tfjs-core';

/** x[n + k] at n (zeros past the end) for k > 0, x[n − |k|] for k < 0, on the flattened tensor. */
export function shiftFlat(x: tf.Tensor, k: number): tf.Tensor {
  return tf.tidy(() => {
    const flat = tf.reshape(x, [-1]);
    const n = flat.size;
    const m = Math.abs(k);
    const parts = k > 0 ? [tf.slice(flat, [m], [n - m]), tf.zeros([m])] : [tf.zeros([m]), tf.slice(flat, [0], [n - m])];
    return tf.reshape(tf.concat(parts), x.shape);
  });
}

/**
 * (Dxᵀ W Dx + Dyᵀ W Dy) u from core ops: per axis, e = w·(u − u_next) is minus the weighted forward difference, and
 * Dᵀ(−e) = e − e_previous. `strideX`/`strideY` are the flat distances to the right and lower neighbour; the link
 * weights are zero where a pixel has no such neighbour, so values a shift carries across a row never count.
 */
export function weightedLaplacianComposite(
  u: tf.Tensor,
  linksX: tf.Tensor,
  linksY: tf.Tensor,
  strideX: number,
  strideY: number,
): tf.Tensor {
  return tf.tidy(() => {
    const flow = (links: tf.Tensor, stride: number) => {
      const e = tf.mul(links, tf.sub(u, shiftFlat(u, stride)));
      return tf.sub(e, shiftFlat(e, -stride));
    };
    return tf.add(flow(linksX, strideX), flow(linksY, strideY));
  });
}
