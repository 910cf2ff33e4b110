import * as tf from '@tensorflow/tfjs-core';
import { type RandomGenerator, tfjsShape } from '@nextdetail/core';
import type { ParameterSpecs } from './parameters.js';

/** How a state-dict entry of an autoencoder is initialised. */
export type ParameterRole = 'convWeight' | 'convBias' | 'normWeight' | 'normBias';

/**
 * A conv's weight is the one 'conv2d'-transformed entry of its module; its bias shares the module name. Every other
 * rank-1 entry in the autoencoders belongs to a GroupNorm.
 */
export function parameterRole(spec: ParameterSpecs, name: string): ParameterRole {
  const module = name.slice(0, name.lastIndexOf('.'));
  const isConv = spec[`${module}.weight`]?.transform === 'conv2d';
  const isWeight = name.endsWith('.weight');
  if (isConv) return isWeight ? 'convWeight' : 'convBias';
  return isWeight ? 'normWeight' : 'normBias';
}

/**
 * Fresh trainable tf.Variables (tfjs layout) for every entry of `spec`, drawn from `rng` in spec order: PyTorch's
 * defaults, nn.Conv2d's kaiming_uniform(a = √5) weight and its bias both U(−1/√fan_in, 1/√fan_in), GroupNorm's
 * weight 1 and bias 0.
 */
// pytorch/pytorch torch/nn/modules/conv.py _ConvNd.reset_parameters; torch/nn/modules/normalization.py GroupNorm
export function initParameters(spec: ParameterSpecs, rng: RandomGenerator): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [name, p] of Object.entries(spec)) {
    const role = parameterRole(spec, name);
    const shape = tfjsShape(p.shape, p.transform ?? 'none');
    let value: tf.Tensor;
    if (role === 'normWeight') value = tf.ones(shape);
    else if (role === 'normBias') value = tf.zeros(shape);
    else {
      // The module's weight is [out, in, kh, kw] in PyTorch layout: fan_in = in·kh·kw.
      const module = name.slice(0, name.lastIndexOf('.'));
      const [, inChannels, kh, kw] = spec[`${module}.weight`]!.shape as [number, number, number, number];
      const bound = 1 / Math.sqrt(inChannels * kh * kw);
      value = rng.uniform(shape, -bound, bound);
    }
    out.set(name, tf.variable(value, true));
    value.dispose();
  }
  return out;
}

/** The loaded tensors as trainable tf.Variables (the tensors themselves are disposed). */
export function toVariables(tensors: Map<string, tf.Tensor>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, t] of tensors) {
    out.set(name, tf.variable(t, true));
    t.dispose();
  }
  return out;
}

/** What `fromStateDict` of every autoencoder takes besides the source and the config. */
export interface AutoencoderLoadOptions {
  /** Hold the weights as trainable tf.Variables (for fine-tuning) rather than plain tensors. Default false. */
  trainable?: boolean;
}

/** The tf.Variables among `parameters`, in name order. */
export function variablesOf(parameters: ReadonlyMap<string, tf.Tensor>): tf.Variable[] {
  return [...parameters.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, t]) => t)
    .filter((t): t is tf.Variable => t instanceof tf.Variable);
}
