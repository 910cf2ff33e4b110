import * as tf from '@tensorflow/tfjs-core';

/** Class ids [B] followed by the unconditional class for every item, [2B]: one batch for both CFG branches. */
export function withUnconditional(classLabels_B: tf.Tensor, numClasses: number): tf.Tensor {
  return tf.tidy(() => tf.concat([classLabels_B, tf.fill(classLabels_B.shape, numClasses, 'int32')], 0));
}

/** `x` twice along the batch axis, [2B, ...]. */
export function twice(x: tf.Tensor): tf.Tensor {
  return tf.concat([x, x], 0);
}

/**
 * u + scale·(c − u) of a [2B, ...] output whose first half is conditional (c) and second half unconditional (u).
 */
// Reference digest §3.3 "CFG: logits ← u + cfg_s·(c − u)", "v ← v_u + cfg_s·(v_c − v_u)"
export function guide(output_2B: tf.Tensor, scale: number): tf.Tensor {
  return tf.tidy(() => {
    const [cond, uncond] = tf.split(output_2B, 2, 0) as [tf.Tensor, tf.Tensor];
    return tf.add(uncond, tf.mul(tf.sub(cond, uncond), scale));
  });
}
