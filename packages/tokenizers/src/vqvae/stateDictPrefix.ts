import type { TensorSource } from '@nextdetail/core';
import type { ParameterSpecs } from './parameters.js';

/**
 * The first of `prefixes` under which `source` holds the spec's first tensor, else ''. A `.pth` opened with core's
 * readPytorch already descends into `['model']` / `['state_dict']`; a flattened export (e.g. safetensors) keeps the
 * container's key as a name prefix, and both should load.
 */
export function stateDictPrefix(source: TensorSource, spec: ParameterSpecs, prefixes: readonly string[]): string {
  const first = Object.keys(spec)[0];
  const keys = new Set(source.keys());
  return prefixes.find((prefix) => first !== undefined && keys.has(prefix + first)) ?? '';
}
