import * as tf from '@tensorflow/tfjs-core';

// torch.nn.utils.clip_grad_norm_ (VAR trains with max norm 2): total = ‖all gradients‖₂; if total > max, every gradient
// is scaled by max / (total + 1e-6).
/** Scales `grads` in place of the map (new tensors; the old ones are disposed) and returns the norm before clipping. */
export async function clipGradientNorm(grads: Map<string, tf.Tensor>, maxNorm: number): Promise<number> {
  const norm = await globalGradientNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const [name, g] of grads) {
      grads.set(name, tf.mul(g, coef));
      g.dispose();
    }
  }
  return norm;
}

/** ‖all gradients‖₂, read back to the host. */
export async function globalGradientNorm(grads: ReadonlyMap<string, tf.Tensor>): Promise<number> {
  const total = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))));
  const norm = (await total.data())[0]!;
  total.dispose();
  return norm;
}
