import * as tf from '@tensorflow/tfjs-core';

/** Weights of the pixel reconstruction terms. */
export interface ReconstructionWeights {
  /** mean |x − x̂|. Default 0. */
  l1?: number;
  /** mean (x − x̂)². Default 1. */
  l2?: number;
}

/** l1·mean|x − x̂| + l2·mean(x − x̂)² over every pixel and channel. */
export function reconstructionLoss(target: tf.Tensor, recon: tf.Tensor, { l1 = 0, l2 = 1 }: ReconstructionWeights = {}): tf.Scalar {
  return tf.tidy(() => {
    const diff = tf.sub(recon, target);
    const terms: tf.Scalar[] = [];
    if (l1 !== 0) terms.push(tf.mul(tf.mean(tf.abs(diff)), l1));
    if (l2 !== 0) terms.push(tf.mul(tf.mean(tf.square(diff)), l2));
    return terms.length === 0 ? tf.scalar(0) : (tf.addN(terms) as tf.Scalar);
  });
}

/** mean (a − b)², PyTorch's F.mse_loss. */
export function mse(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(a, b))));
}

/** The discriminator's hinge loss ½(mean relu(1 − D(x)) + mean relu(1 + D(x̂))). */
// CompVis/taming-transformers taming/modules/losses/vqperceptual.py hinge_d_loss
export function hingeDiscriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const real = tf.mean(tf.relu(tf.sub(1, realLogits))) as tf.Scalar;
    const fake = tf.mean(tf.relu(tf.add(1, fakeLogits))) as tf.Scalar;
    return tf.mul(tf.add(real, fake), 0.5);
  });
}

/** The generator's adversarial loss −mean D(x̂). */
// CompVis/taming-transformers taming/modules/losses/vqperceptual.py VQLPIPSWithDiscriminator (g_loss)
export function hingeGeneratorLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(fakeLogits) as tf.Scalar));
}
