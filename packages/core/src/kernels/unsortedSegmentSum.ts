import * as tf from '@tensorflow/tfjs-core';

/**
 * out[s, …] = Σ_{i : ids[i] = s} x[i, …] from core ops, for backends without an UnsortedSegmentSum kernel (tfjs's wasm
 * backend; it is also the gradient of gather, so embedding training needs it). ScatterNd sums duplicate indices;
 * ids outside [0, numSegments) are dropped, as in TensorFlow.
 */
export function unsortedSegmentSumComposite(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  return tf.tidy(() => {
    const idsRank = segmentIds.rank;
    const rows = segmentIds.size;
    const ids = tf.reshape(segmentIds, [rows]);
    const valid = tf.logicalAnd(tf.greaterEqual(ids, 0), tf.less(ids, numSegments));
    const safeIds = tf.reshape(tf.where(valid, ids, tf.zerosLike(ids)), [rows, 1]);
    const inner = x.shape.slice(idsRank);
    const flat = tf.reshape(tf.cast(x, 'float32'), [rows, -1]);
    const updates = tf.mul(flat, tf.reshape(tf.cast(valid, 'float32'), [rows, 1]));
    const summed = tf.scatterND(safeIds, updates, [numSegments, flat.shape[1]!]);
    return tf.cast(tf.reshape(summed, [numSegments, ...inner]), x.dtype);
  });
}
