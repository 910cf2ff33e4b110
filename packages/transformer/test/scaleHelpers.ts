import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import { listFixtures } from '../../../test/fixtures.js';

// Helpers shared by the VAR/FlexVAR generator tests.

export const ATOL = 1e-4;
export const RTOL = 1e-4;

/** Every reference fixture whose `__metadata__.kind` is `kind` (the others are closed again). */
export async function openFixtures(kind: string): Promise<SafetensorsFile[]> {
  const opened = await Promise.all(listFixtures('reference', '.safetensors').map((path) => readSafetensorsFile(path)));
  const wanted = opened.filter((file) => file.metadata.kind === kind);
  await Promise.all(opened.filter((file) => !wanted.includes(file)).map((file) => file.close()));
  return wanted;
}

/** Asserts |actual − expected| ≤ ATOL + RTOL·|expected| elementwise; returns the max error. Disposes neither. */
export async function expectClose(actual: tf.Tensor, expected: tf.Tensor, what: string): Promise<number> {
  expect(actual.shape, what).toEqual(expected.shape);
  const [a, e] = await Promise.all([actual.data(), expected.data()]);
  let maxErr = 0;
  let worstExcess = -Infinity;
  for (let i = 0; i < e.length; i++) {
    const err = Math.abs(a[i]! - e[i]!);
    if (!(err <= maxErr)) maxErr = Number.isNaN(err) ? Infinity : err;
    worstExcess = Math.max(worstExcess, Number.isNaN(err) ? Infinity : err - (ATOL + RTOL * Math.abs(e[i]!)));
  }
  expect(worstExcess, `${what}: max |error| ${maxErr.toExponential(2)}`).toBeLessThanOrEqual(0);
  return maxErr;
}

/** The error `fn` throws or rejects with; fails the test if it does not. */
export async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

/** Token ranges [begin, end) of each scale of a schedule of grids. */
export function scaleRanges(sizes: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  let begin = 0;
  return sizes.map(([h, w]) => {
    const r: [number, number] = [begin, begin + h * w];
    begin += h * w;
    return r;
  });
}
