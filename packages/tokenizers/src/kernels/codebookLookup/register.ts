import * as tf from '@tensorflow/tfjs-core';

/**
 * E[ids] for int32 ids of any shape, [...ids.shape, C], inside a recorded function: ∂/∂E is the scatter-add of the
 * incoming gradient over the ids, and the ids get a zero (float32) gradient. tf.gather would hand its int32 indices
 * back as their "gradient", which tfjs refuses when the ids were computed from trainable values.
 */
const lookupOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [embedding_VC, ids, save] = args as [tf.Tensor2D, tf.Tensor, tf.GradSaveFunc];
  save([ids]);
  const [vocabSize, channels] = embedding_VC.shape;
  const idsShape = ids.shape;
  return {
    value: tf.gather(embedding_VC, ids),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.unsortedSegmentSum(tf.reshape(dy, [-1, channels]), tf.reshape(saved[0]!, [-1]), vocabSize),
      tf.zeros(idsShape),
    ],
  };
});

export function codebookLookup(embedding_VC: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  return lookupOp(embedding_VC, ids);
}
