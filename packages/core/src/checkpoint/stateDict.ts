import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { describeShape } from '../validate.js';
import { fromTorchLayout, type LayoutTransform } from './layout.js';

/** What the checkpoint readers (safetensors, .pth) have in common: named tensors read lazily. */
export interface TensorSource {
  keys(): string[];
  info(name: string): { dtype: string; shape: number[] };
  tensor(name: string): Promise<tf.Tensor>;
}

/** One parameter a model expects: its name in the state dict, its PyTorch shape, and how to convert it. */
export interface ParameterSpec {
  shape: readonly number[];
  transform?: LayoutTransform;
  /** Leave the parameter at its initial value if the checkpoint lacks it instead of failing. */
  optional?: boolean;
}

/**
 * Buffers the reference models keep in their state dicts that a re-implementation recomputes or does not need
 * (reference-digest §0.1 item 11): recognised by the last component of the name and never reported as unused.
 */
export const IGNORABLE_BUFFERS: readonly string[] = [
  'attn_bias_for_masking',
  'zero_k_bias',
  'lvl_1L',
  'ema_vocab_hit_SV',
  'codebook_used',
  'total_visited_codes',
];

export interface StateDictReport {
  /** Spec names the checkpoint lacks (only optional ones; a required one throws). */
  missing: string[];
  /** Checkpoint names no spec asked for, other than the ignorable buffers. */
  unused: string[];
  /** Ignorable buffers that were present. */
  ignored: string[];
}

export interface LoadedStateDict {
  /** tfjs-layout tensors by state-dict name; the caller owns them. */
  tensors: Map<string, tf.Tensor>;
  report: StateDictReport;
}

function isIgnorable(name: string): boolean {
  return IGNORABLE_BUFFERS.includes(name.slice(name.lastIndexOf('.') + 1));
}

/**
 * Reads the parameters `spec` asks for from a checkpoint, checks every shape against the spec (the error names the
 * tensor, the expected and the actual PyTorch shape), converts them to tfjs layout, and reports what was missing,
 * unused or ignored. `prefix` is prepended to every spec name when looking it up (e.g. "model.").
 */
export async function loadStateDict(
  source: TensorSource,
  spec: Readonly<Record<string, ParameterSpec>>,
  { prefix = '' }: { prefix?: string } = {},
): Promise<LoadedStateDict> {
  const available = new Set(source.keys());
  const missingRequired: string[] = [];
  const missing: string[] = [];
  for (const [name, p] of Object.entries(spec)) {
    const key = prefix + name;
    if (!available.has(key)) {
      (p.optional ? missing : missingRequired).push(key);
      continue;
    }
    const { shape } = source.info(key);
    if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
      throw new ShapeError(key, `shape ${describeShape(p.shape)} (from the model config)`, `shape ${describeShape(shape)} in the checkpoint`);
    }
  }
  if (missingRequired.length > 0) {
    const shown = missingRequired.slice(0, 10).join(', ') + (missingRequired.length > 10 ? `, … (${missingRequired.length} in all)` : '');
    throw new InvalidArgumentError('checkpoint', 'every parameter the model needs', `no ${shown}`);
  }
  const wanted = new Set(Object.keys(spec).map((n) => prefix + n));
  const unused: string[] = [];
  const ignored: string[] = [];
  for (const key of available) {
    if (wanted.has(key)) continue;
    (isIgnorable(key) ? ignored : unused).push(key);
  }
  const tensors = new Map<string, tf.Tensor>();
  try {
    for (const [name, p] of Object.entries(spec)) {
      const key = prefix + name;
      if (!available.has(key)) continue;
      const raw = await source.tensor(key);
      try {
        tensors.set(name, fromTorchLayout(raw, p.transform ?? 'none', key));
      } finally {
        raw.dispose();
      }
    }
  } catch (err) {
    tf.dispose([...tensors.values()]);
    throw err;
  }
  return { tensors, report: { missing, unused: unused.sort(), ignored: ignored.sort() } };
}
