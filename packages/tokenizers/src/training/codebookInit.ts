import * as tf from '@tensorflow/tfjs-core';
import type { RandomGenerator } from '@nextdetail/core';

/** How a trainer initialises its codebook. */
export type CodebookInit = 'uniform' | 'latents';

/**
 * Data-dependent codebook initialisation: overwrites `embedding_VC` with V rows of `latents_NC` drawn uniformly with
 * replacement from `rng`, so that every code starts where the encoder's outputs are rather than at the reference's
 * tiny U(−1/V, 1/V) (which leaves the decoder reading near-zero f̂ until the codes have drifted out to the latents).
 */
// Zeghidour et al., SoundStream (2021) §3.3: codebook initialised from the first batch's encoder outputs
export async function initCodebookFromLatents(embedding_VC: tf.Variable, latents_NC: tf.Tensor2D, rng: RandomGenerator): Promise<void> {
  const [rows] = latents_NC.shape;
  const vocabSize = embedding_VC.shape[0]!;
  const picks = Int32Array.from(rng.uniformArray(vocabSize), (u) => Math.min(rows - 1, Math.floor(u * rows)));
  tf.tidy(() => embedding_VC.assign(tf.gather(latents_NC, tf.tensor1d(picks, 'int32'))));
  await embedding_VC.data();
}
