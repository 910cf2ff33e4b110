import * as tf from '@tensorflow/tfjs-core';

/**
 * The reference's squared distances ‖z‖² + ‖E_v‖² − 2·z·E_v as a [N, V] matrix, then the first index of each row's
 * minimum, from core ops: what every backend without a fused kernel runs.
 */
// FoundationVision/VAR@78b9539:models/quant.py VectorQuantizer2.f_to_idxBl_or_fhat (using_znorm=False branch)
export function nearestCodeComposite(z_NC: tf.Tensor2D, embedding_VC: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    // The reference's expansion and order, (|z|² + |E|²) − 2·z·E, so float32 rounding lands where torch's does.
    const squares_NV = tf.add(tf.sum(tf.square(z_NC), 1, true), tf.sum(tf.square(embedding_VC), 1));
    const d_NV = tf.sub(squares_NV, tf.mul(tf.matMul(z_NC, embedding_VC, false, true), 2));
    // tf.argMin does not promise the first index on ties on every backend; the smallest id among the minima does.
    const vocabSize = embedding_VC.shape[0];
    const ids_1V = tf.reshape(tf.range(0, vocabSize, 1, 'float32'), [1, vocabSize]);
    const candidates_NV = tf.where(tf.equal(d_NV, tf.min(d_NV, 1, true)), ids_1V, tf.fill([1, vocabSize], vocabSize));
    return tf.cast(tf.min(candidates_NV, 1), 'int32') as tf.Tensor1D;
  });
}
