import type * as tf from '@tensorflow/tfjs-core';
import type { ParameterSpec } from '@nextdetail/core';

/** State-dict names → what core's `loadStateDict` must find there (PyTorch shape, layout transform). */
export type ParameterSpecs = Record<string, ParameterSpec>;

/** The tfjs-layout tensors `loadStateDict` returned, by state-dict name. */
export type LoadedParameters = ReadonlyMap<string, tf.Tensor>;

/** The loaded tensor `name`; the module that asks for it becomes its owner and disposes it. */
export function parameter<R extends tf.Rank>(params: LoadedParameters, name: string): tf.Tensor<R> {
  const t = params.get(name);
  // loadStateDict has already refused checkpoints that lack a spec'd name, so this only fires if a module's `load`
  // asks for a name its `spec` never listed.
  if (!t) throw new Error(`internal: "${name}" was not part of the state-dict spec`);
  return t as tf.Tensor<R>;
}
