import * as tf from '@tensorflow/tfjs-core';

/** Rows per one-hot product: below tfjs-webgpu's split-K matmul (inner size ≥ 2 000), which also adds atomically. */
const CHUNK = 1024;

/**
 * The sum of the rows of `data_NC` per segment id (`ids_N` int32 in [0, segments), segments ≥ 2), [segments, C],
 * added in the same order on every run. tfjs-webgpu's UnsortedSegmentSum adds with float atomics in whatever order
 * its threads arrive, so two runs of one training step differ in the last bits and a resumed run drifts from an
 * uninterrupted one. Here each chunk of at most CHUNK rows is a one-hot product, and the chunks' sums are added in
 * turn.
 */
export function orderedSegmentSum(data_NC: tf.Tensor2D, ids_N: tf.Tensor1D, segments: number): tf.Tensor2D {
  return tf.tidy(() => {
    const n = ids_N.shape[0];
    let sum_SC: tf.Tensor2D = tf.zeros([segments, data_NC.shape[1]]);
    for (let start = 0; start < n; start += CHUNK) {
      const size = Math.min(CHUNK, n - start);
      // tfjs-wasm's OneHot ignores a float32 dtype and writes int32 bits: cast instead.
      const onehot_nS = tf.cast(tf.oneHot(tf.slice(ids_N, [start], [size]), segments), 'float32');
      sum_SC = tf.add(sum_SC, tf.matMul(onehot_nS, tf.slice(data_NC, [start, 0], [size, -1]), true, false));
    }
    return sum_SC;
  });
}
