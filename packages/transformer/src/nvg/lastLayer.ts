import * as tf from '@tensorflow/tfjs-core';
import { linear, type LinearParams } from './linear.js';
import { modulatedLayerNorm } from './modulatedLayerNorm.js';

/** A head's parameters: the adaLN modulation (shift, scale) and the output projection. */
export type LastLayerParams = { modulation: LinearParams; linear: LinearParams };

/** Linear((1 + scale)·LN(x) + shift) with (shift, scale) ← Linear(silu(vec)), shift first. */
// Reference digest §3.3 "Last layer (x0_head, structure_head)"
export function lastLayer(x_BTD: tf.Tensor, vec_BD: tf.Tensor, params: LastLayerParams): tf.Tensor {
  return tf.tidy(() => {
    const [shift_BD, scale_BD] = tf.split(linear(tf.mul(vec_BD, tf.sigmoid(vec_BD)), params.modulation), 2, -1);
    return linear(modulatedLayerNorm(x_BTD, shift_BD!, scale_BD!), params.linear);
  });
}
