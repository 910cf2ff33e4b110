import * as tf from '@tensorflow/tfjs-core';
import { loadStateDict, type TensorSource } from '@nextdetail/core';
import { type AutoencoderLoadReport, autoencoderLoadReport } from './loadReport.js';
import { toVariables } from './parameterInit.js';
import type { ParameterSpecs } from './parameters.js';
import { stateDictPrefix } from './stateDictPrefix.js';

/** Every autoencoder checkpoint holds its quantizer's tensors under this name, which the quantizer's loader reads. */
const QUANTIZER_PREFIX = 'quantize.';

/**
 * An autoencoder's CNN weights read from `source` by `spec`, under the first of `prefixes` that the source uses (see
 * stateDictPrefix), as trainable tf.Variables when `trainable`; the report names the quantizer's tensors as expected.
 */
export async function loadAutoencoderWeights(
  source: TensorSource,
  spec: ParameterSpecs,
  prefixes: readonly string[],
  trainable: boolean,
): Promise<{ tensors: Map<string, tf.Tensor>; report: AutoencoderLoadReport }> {
  const prefix = stateDictPrefix(source, spec, prefixes);
  const { tensors, report } = await loadStateDict(source, spec, { prefix });
  return { tensors: trainable ? toVariables(tensors) : tensors, report: autoencoderLoadReport(report, prefix + QUANTIZER_PREFIX) };
}

/**
 * The model `build` makes from `tensors`. The modules take ownership of the tensors; if one of them refuses its
 * tensor, nobody owns them, so they are disposed before the error goes on.
 */
export function buildOwningWeights<T>(tensors: ReadonlyMap<string, tf.Tensor>, build: () => T): T {
  try {
    return build();
  } catch (err) {
    tf.dispose([...tensors.values()]);
    throw err;
  }
}
