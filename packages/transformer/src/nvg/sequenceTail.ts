import * as tf from '@tensorflow/tfjs-core';

/**
 * Tokens `start`.. of `x_BTD` [B, T, D], [B, T − start, D]. The cpu backend copies a strided slice element by element
 * but each batch item's tail at once, so there it is sliced item by item; wasm's Unpack is the slow one (a 200-item
 * unstack took 0.8 s, the single slice 10 ms), so every other backend slices once.
 */
export function sequenceTail(x_BTD: tf.Tensor, start: number): tf.Tensor {
  return tf.tidy(() => {
    if (tf.getBackend() !== 'cpu') return tf.slice(x_BTD, [0, start, 0], [-1, -1, -1]);
    return tf.stack(tf.unstack(x_BTD, 0).map((x_TD) => tf.slice(x_TD, [start, 0], [-1, -1])), 0);
  });
}
