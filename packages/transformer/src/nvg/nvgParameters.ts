import type * as tf from '@tensorflow/tfjs-core';
import type { LinearParams } from './linear.js';
import type { SingleStreamBlockParams } from './singleStreamBlock.js';

/**
 * The generator's trainable tensors in tfjs layout, by state-dict name without the prefix — except the blocks, whose
 * `linear1`/`linear2`/norm tensors are held rearranged under the names of BLOCK_TENSOR_NAMES.
 */
export type NvgParameters = ReadonlyMap<string, tf.Variable>;

/** The tensor `name`; the loader creates every name a module asks for. */
export function param(params: NvgParameters, name: string): tf.Variable {
  const t = params.get(name);
  if (!t) throw new Error(`internal: "${name}" is not an NVGformer parameter`);
  return t;
}

export function linearParams(params: NvgParameters, name: string): LinearParams {
  return { weight_IO: param(params, `${name}.weight`), bias_O: param(params, `${name}.bias`) };
}

export function blockParams(params: NvgParameters, name: string): SingleStreamBlockParams {
  const p = (suffix: string) => param(params, `${name}.${suffix}`);
  return {
    modulation: linearParams(params, `${name}.modulation`),
    queryEven: linearParams(params, `${name}.query_even`),
    queryOdd: linearParams(params, `${name}.query_odd`),
    keyEven: linearParams(params, `${name}.key_even`),
    keyOdd: linearParams(params, `${name}.key_odd`),
    value: linearParams(params, `${name}.value`),
    mlp: linearParams(params, `${name}.mlp`),
    queryScaleEven: p('query_scale_even'),
    queryScaleOdd: p('query_scale_odd'),
    keyScaleEven: p('key_scale_even'),
    keyScaleOdd: p('key_scale_odd'),
    outAttention_DD: p('out_attention.weight'),
    outMlp_MD: p('out_mlp.weight'),
    outBias_D: p('out.bias'),
  };
}
