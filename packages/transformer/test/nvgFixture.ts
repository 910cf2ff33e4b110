import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import { listFixtures } from '../../../test/fixtures.js';

// Helpers for the NVG tests: fixture discovery by metadata kind, integer reads and comparisons.

/** Suggested float32 tolerance of shared/fixtures/README.md "Tolerances". */
export const ATOL = 1e-4;
export const RTOL = 1e-4;

/** Every reference file whose `__metadata__.kind` is "nvg", opened (headers only). */
export async function nvgFixtures(): Promise<SafetensorsFile[]> {
  const files: SafetensorsFile[] = [];
  for (const path of listFixtures('reference', '.safetensors')) {
    const file = await readSafetensorsFile(path);
    if (file.metadata.kind === 'nvg') files.push(file);
    else await file.close();
  }
  return files;
}

/** An I64 fixture tensor as int32. */
export async function int32Tensor(file: SafetensorsFile, key: string): Promise<tf.Tensor> {
  const t = await file.tensor(key);
  if (t.dtype === 'int32') return t;
  const cast = tf.cast(t, 'int32');
  t.dispose();
  return cast;
}

/** Stage s of a [B, S, ...] fixture tensor, [B, ...]. */
export function stageSlice(t: tf.Tensor, s: number): tf.Tensor {
  return tf.tidy(() => tf.squeeze(tf.slice(t, [0, s], [-1, 1]), [1]));
}

/** The stages s for which `prefix{s}` keys exist, ascending. */
export function stagesOf(file: SafetensorsFile, prefix: string): number[] {
  const escaped = prefix.replace(/\./g, '\\.');
  return file
    .keys()
    .flatMap((k) => (new RegExp(`^${escaped}(\\d+)$`).exec(k) ? [Number(k.slice(prefix.length))] : []))
    .sort((a, b) => a - b);
}

/** max |a − b| and whether every element is within atol + rtol·|b|. */
export async function compare(actual: tf.Tensor, expected: tf.Tensor, atol = ATOL, rtol = RTOL): Promise<{ maxError: number; ok: boolean }> {
  expect(actual.shape).toEqual(expected.shape);
  const [a, e] = await Promise.all([actual.data(), expected.data()]);
  let maxError = 0;
  let ok = true;
  for (let k = 0; k < e.length; k++) {
    const d = Math.abs(a[k]! - e[k]!);
    if (!(d <= maxError)) maxError = d;
    if (!(d <= atol + rtol * Math.abs(e[k]!))) ok = false;
  }
  return { maxError, ok };
}

/** Flat indices where two integer tensors differ. */
export async function mismatches(actual: tf.Tensor, expected: tf.Tensor): Promise<number[]> {
  expect(actual.shape).toEqual(expected.shape);
  const [a, e] = await Promise.all([actual.data(), expected.data()]);
  const found: number[] = [];
  for (let k = 0; k < e.length; k++) if (a[k] !== e[k]) found.push(k);
  return found;
}
