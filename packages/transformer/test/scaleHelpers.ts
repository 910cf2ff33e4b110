import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
export { thrown } from '../../../test/errors.js';
export { openFixtures } from '../../../test/fixtures.js';

// Helpers shared by the VAR/FlexVAR generator tests.

export const ATOL = 1e-4;
export const RTOL = 1e-4;

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

/** Token ranges [begin, end) of each scale of a schedule of grids. */
export function scaleRanges(sizes: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  let begin = 0;
  return sizes.map(([h, w]) => {
    const r: [number, number] = [begin, begin + h * w];
    begin += h * w;
    return r;
  });
}
