import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, ShapeError } from '@nextdetail/core';

// FoundationVision/VAR@78b9539:trainer.py: CrossEntropyLoss(label_smoothing=ε, reduction='none') per token, weighted
// 1/L and summed over the sequence, averaged over the batch, i.e. the mean over all B·L tokens. With smoothing the
// target distribution is (1 − ε)·onehot + ε/V.
/** Mean token cross-entropy of `logits_BLV` against int32 targets `target_BL`, with optional label smoothing ε. */
export function crossEntropy(logits_BLV: tf.Tensor3D, target_BL: tf.Tensor2D, labelSmoothing = 0): tf.Scalar {
  checkTensor(logits_BLV, 'logits_BLV', { rank: 3, dtype: 'float32' });
  checkTensor(target_BL, 'target_BL', { rank: 2, dtype: 'int32' });
  checkNumber(labelSmoothing, 'labelSmoothing', { min: 0, max: 1 });
  const [B, L, V] = logits_BLV.shape;
  if (target_BL.shape[0] !== B || target_BL.shape[1] !== L) {
    throw new ShapeError('target_BL', `[${B}, ${L}] (the logits' batch and length)`, describeShape(target_BL.shape));
  }
  return tf.tidy(() => {
    // z − logsumexp(z) rather than tf.logSoftmax, whose wasm kernel leaks a tensor per call in tfjs 4.22.
    const logp_BLV = tf.sub(logits_BLV, tf.logSumExp(logits_BLV, -1, true));
    const nll_BL = tf.neg(tf.sum(tf.mul(logp_BLV, tf.oneHot(target_BL, V)), -1));
    const loss_BL = labelSmoothing > 0 ? tf.add(tf.mul(nll_BL, 1 - labelSmoothing), tf.mul(tf.neg(tf.mean(logp_BLV, -1)), labelSmoothing)) : nll_BL;
    return tf.mean(loss_BL) as tf.Scalar;
  });
}
