import type * as tf from '@tensorflow/tfjs-core';
import { AdamW, type AdamWOptions } from '@nextdetail/core';
import type { ParameterStore } from '../parameterStore.js';

/** Name fragments VAR exempts from weight decay (FoundationVision/VAR@78b9539:utils/lr_control.py filter_params). */
const NO_DECAY_KEYS = [
  'cls_token', 'start_token', 'task_token', 'cfg_uncond', 'pos_embed', 'pos_1LC', 'pos_start', 'start_pos',
  'lvl_embed', 'gamma', 'beta', 'ada_gss', 'moe_bias', 'scale_mul',
];

/** VAR's weight-decay rule: no decay on 1-D parameters, biases and the named embeddings/gains. */
export function decays(name: string, torchShape: readonly number[]): boolean {
  return torchShape.length > 1 && !name.endsWith('bias') && !NO_DECAY_KEYS.some((k) => name.includes(k));
}

/** VAR's optimizer over a generator's parameters: core's AdamW with VAR's no-decay rule and weight decay 0.05 by default. */
export function varAdamW(params: ParameterStore, options: Omit<AdamWOptions, 'decays'> = {}): AdamW {
  const variables = new Map(params.names().map((name) => [name, params.get<tf.Variable>(name)]));
  return new AdamW(variables, {
    ...options,
    weightDecay: options.weightDecay ?? 0.05,
    decays: (name) => decays(name, params.specs[name]!.shape),
  });
}
