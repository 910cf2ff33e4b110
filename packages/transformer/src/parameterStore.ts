import * as tf from '@tensorflow/tfjs-core';
import { type LayoutTransform, type ParameterSpec, type WritableRawTensor } from '@nextdetail/core';

/** State-dict names → what core's `loadStateDict` must find there (PyTorch shape, layout transform). */
export type ParameterSpecs = Record<string, ParameterSpec>;

/** tfjs layout → PyTorch layout: the inverse of core's `fromTorchLayout`. */
export function toTorchLayout(t: tf.Tensor, transform: LayoutTransform): tf.Tensor {
  if (transform === 'linear') return tf.transpose(t, [1, 0]);
  if (transform === 'nchw') return tf.transpose(t, [0, 3, 1, 2]);
  if (transform === 'conv2d') return tf.transpose(t, [3, 2, 0, 1]);
  return tf.clone(t);
}

/**
 * A model's parameters as trainable tf.Variables in tfjs layout, keyed by their reference state-dict names, with the
 * spec that maps them to PyTorch. Owns the variables.
 */
export class ParameterStore {
  /** Takes ownership of `tensors` (tfjs layout, one per spec name): each becomes a variable and the tensor is freed. */
  static fromTensors(specs: ParameterSpecs, tensors: ReadonlyMap<string, tf.Tensor>): ParameterStore {
    const vars = new Map<string, tf.Variable>();
    for (const name of Object.keys(specs)) {
      const t = tensors.get(name);
      if (!t) throw new Error(`internal: no tensor for spec'd parameter "${name}"`);
      vars.set(name, tf.variable(t, true));
      t.dispose();
    }
    return new ParameterStore(specs, vars);
  }

  private constructor(
    readonly specs: ParameterSpecs,
    private readonly vars: Map<string, tf.Variable>,
  ) {}

  get<T extends tf.Tensor = tf.Tensor>(name: string): T {
    const v = this.vars.get(name);
    // The model only asks for names its own spec lists, so a miss is a bug, not bad input.
    if (!v) throw new Error(`internal: "${name}" is not a parameter of this model`);
    return v as unknown as T;
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** Copies of every parameter in PyTorch layout under its reference name, ready for `writeSafetensors`. */
  toStateDict(): Promise<Record<string, WritableRawTensor>> {
    return torchStateDict(this.vars, this.specs);
  }

  /** Overwrites every parameter from tfjs-layout tensors (not disposed here). */
  assign(tensors: ReadonlyMap<string, tf.Tensor>): void {
    for (const [name, v] of this.vars) {
      const t = tensors.get(name);
      if (t) v.assign(t);
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/**
 * Copies of tfjs-layout tensors (named like `specs`) in PyTorch layout, keyed `prefix + name`, for `writeSafetensors`:
 * what core's `loadStateDict(source, specs, { prefix })` reads back.
 */
export async function torchStateDict(
  tensors: ReadonlyMap<string, tf.Tensor>,
  specs: ParameterSpecs,
  prefix = '',
): Promise<Record<string, WritableRawTensor>> {
  const out: Record<string, WritableRawTensor> = {};
  for (const [name, v] of tensors) {
    const spec = specs[name]!;
    const t = toTorchLayout(v, spec.transform ?? 'none');
    try {
      out[prefix + name] = { dtype: 'F32', shape: [...spec.shape], data: (await t.data()) as Float32Array };
    } finally {
      t.dispose();
    }
  }
  return out;
}
