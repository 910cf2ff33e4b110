import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  checkNumber,
  checkTensor,
  checkValues,
  DTypeError,
  InvalidArgumentError,
  NextDetailError,
  ShapeError,
  ValueRangeError,
} from '@nextdetail/core';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

describe(`input checks [${backendName()}]`, () => {
  it('errors carry argument, expected and actual, and a stable code', () => {
    const e = new ShapeError('image', 'rank 4', 'rank 2 [3, 3]');
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect(e).toBeInstanceOf(NextDetailError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ShapeError');
    expect(e.code).toBe('ERR_SHAPE');
    expect([e.argument, e.expected, e.actual]).toEqual(['image', 'rank 4', 'rank 2 [3, 3]']);
    expect(e.message).toBe('image: expected rank 4, got rank 2 [3, 3]');
  });

  it('checkTensor rejects non-tensors, disposed tensors, wrong ranks and dtypes', () => {
    expect(() => checkTensor(42, 'x')).toThrow(/x: expected a tf.Tensor, got 42/);
    const t = tf.zeros([2, 3]);
    expect(() => checkTensor(t, 'x', { rank: [3, 4] })).toThrow(ShapeError);
    expect(() => checkTensor(t, 'x', { dtype: 'int32' })).toThrow(DTypeError);
    expect(() => checkTensor(t, 'x', { rank: 2, dtype: ['float32'] })).not.toThrow();
    t.dispose();
    expect(() => checkTensor(t, 'x')).toThrow(/a disposed tensor/);
  });

  it('checkValues finds NaN, infinities and out-of-range values without leaking', async () => {
    const cases: Array<[number[], RegExp | null]> = [
      [[0, 0.5, 1], null],
      [[0, NaN, 1], /1 NaN or infinite value$/],
      [[Infinity, -Infinity, 0], /2 NaN or infinite values/],
      [[-0.25, 0.5], /expected values in \[0, 1\], got values in \[-0.25, 0.5\]/],
    ];
    for (const [values, message] of cases) {
      const t = tf.tensor1d(values);
      await expectNoLeaks(async () => {
        const result = await checkValues(t, 'x', { min: 0, max: 1 }).then(
          () => null,
          (e: unknown) => e,
        );
        if (message) {
          expect(result).toBeInstanceOf(ValueRangeError);
          expect((result as Error).message).toMatch(message);
        } else {
          expect(result).toBeNull();
        }
      });
      t.dispose();
    }
  });

  it('checkNumber enforces finiteness, bounds and integrality', () => {
    expect(() => checkNumber(3, 'n', { min: 0, integer: true })).not.toThrow();
    expect(() => checkNumber(2.5, 'n', { integer: true })).toThrow(/n: expected an integer/);
    expect(() => checkNumber(Number.NaN, 'n')).toThrow(/got NaN/);
    expect(() => checkNumber('3', 'n')).toThrow(/got "3"/);
    expect(() => checkNumber(0, 'n', { min: 0, exclusiveMin: true })).toThrow(/\(0, Infinity\]/);
    expect(() => checkNumber(11, 'n', { max: 10 })).toThrow(InvalidArgumentError);
  });
});
