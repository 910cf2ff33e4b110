import * as tf from '@tensorflow/tfjs-core';
import { type LayoutTransform, writeSafetensors } from '@nextdetail/core';
import type { ParameterSpecs } from '../vqvae/parameters.js';

/** One state-dict entry: its reference name, its tfjs-layout tensor and the layout transform loading applies. */
export interface StateDictEntry {
  name: string;
  tensor: tf.Tensor;
  transform: LayoutTransform;
}

/** The inverse of core's fromTorchLayout: tfjs layout → PyTorch layout (HWIO → OIHW, [in, out] → [out, in]). */
export function toTorchLayout(t: tf.Tensor, transform: LayoutTransform): tf.Tensor {
  return tf.tidy(() => {
    if (transform === 'none') return tf.clone(t);
    if (transform === 'linear') return tf.transpose(t, [1, 0]);
    if (transform === 'conv2d') return tf.transpose(t, [3, 2, 0, 1]);
    return tf.transpose(t, [0, 3, 1, 2]);
  });
}

/** An autoencoder's parameters as entries, with the transforms of its state-dict spec. */
export function specEntries(parameters: ReadonlyMap<string, tf.Tensor>, spec: ParameterSpecs): StateDictEntry[] {
  return [...parameters].map(([name, tensor]) => ({ name, tensor, transform: spec[name]?.transform ?? 'none' }));
}

/**
 * A safetensors file in PyTorch layout under the reference names, which the models' `fromStateDict` (and PyTorch's
 * `load_state_dict`) read back.
 */
export async function writeStateDict(entries: readonly StateDictEntry[], metadata?: Record<string, string>): Promise<Uint8Array> {
  const torch = Object.fromEntries(entries.map(({ name, tensor, transform }) => [name, toTorchLayout(tensor, transform)]));
  try {
    return await writeSafetensors(torch, metadata);
  } finally {
    tf.dispose(Object.values(torch));
  }
}
