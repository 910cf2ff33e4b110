// The deterministic integer-hash FID-Inception weights of shared/fixtures/eval/README.md ("inception_golden.out").
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { TensorSource } from '@nextdetail/core';

/** h(k, e) in [0, 1). */
export function hash01(k: number, e: number): number {
  let x = (Math.imul(e, 0x9e3779b1) + Math.imul(k, 0x85ebca77)) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x / 2 ** 32;
}

export interface LayoutEntry {
  k: number;
  name: string;
  shape: number[];
}

/** Entries of a layout file: `k <TAB> name <TAB> shape` (torch-fidelity) or `name <TAB> shape` (k = line index). */
export function readLayout(path: string): LayoutEntry[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      const cols = line.split('\t');
      const [k, name, shape] = cols.length === 3 ? [Number(cols[0]), cols[1]!, cols[2]!] : [index, cols[0]!, cols[1]!];
      return { k, name, shape: JSON.parse(shape) as number[] };
    });
}

export function hashValues(entry: LayoutEntry): Float32Array | null {
  const { k, name, shape } = entry;
  const size = shape.reduce((a, b) => a * b, 1);
  const u = (e: number) => hash01(k, e) - 0.5;
  let f: ((e: number) => number) | null = null;
  if (name.endsWith('conv.weight')) {
    const s = Math.sqrt(24 / (shape[1]! * shape[2]! * shape[3]!));
    f = (e) => u(e) * s;
  } else if (name.endsWith('bn.weight')) f = (e) => 1 + 0.2 * u(e);
  else if (name.endsWith('bn.bias') || name.endsWith('bn.running_mean') || name === 'fc.bias') f = (e) => 0.02 * u(e);
  else if (name.endsWith('bn.running_var')) f = (e) => 1 + 0.5 * hash01(k, e);
  else if (name === 'fc.weight') {
    const s = Math.sqrt(24 / 2048);
    f = (e) => u(e) * s;
  }
  return f ? Float32Array.from({ length: size }, (_, e) => f(e)) : null;
}

/** A TensorSource with the hash weights of every float entry of `layout` (num_batches_tracked left out). */
export function hashWeightSource(layout: LayoutEntry[]): TensorSource {
  const entries = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const entry of layout) {
    const data = hashValues(entry);
    if (data) entries.set(entry.name, { shape: entry.shape, data });
  }
  return {
    keys: () => [...entries.keys()],
    info: (name) => ({ dtype: 'F32', shape: entries.get(name)!.shape }),
    tensor: async (name) => tf.tensor(entries.get(name)!.data, entries.get(name)!.shape),
  };
}

/** x_u8[c][h][w] = round(255·(0.5 + 0.5·sin(0.3h + 0.7w + 2c))) as NHWC [1, 32, 32, 3] float32. */
export function goldenInput(size = 32): tf.Tensor4D {
  const data = new Float32Array(size * size * 3);
  for (let h = 0; h < size; h++) {
    for (let w = 0; w < size; w++) {
      for (let c = 0; c < 3; c++) data[(h * size + w) * 3 + c] = Math.round(255 * (0.5 + 0.5 * Math.sin(0.3 * h + 0.7 * w + 2 * c)));
    }
  }
  return tf.tensor4d(data, [1, size, size, 3]);
}
