import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { RandomGenerator } from '@nextdetail/core';
import { orderedSegmentSum } from '../src/kernels/codebookLookup/orderedSegmentSum.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

describe(`orderedSegmentSum [${backendName()}]`, () => {
  it('equals a float64 segment sum over several chunks, gives the same bits on every run, leak-free', async () => {
    // 2 500 rows (three chunks, the last partial) into 37 segments, most ids repeated many times.
    const n = 2500;
    const segments = 37;
    const channels = 5;
    const rng = new RandomGenerator(3);
    const data = rng.normal([n, channels]) as tf.Tensor2D;
    const ids = Int32Array.from(rng.uniformArray(n), (u) => Math.min(segments - 1, Math.floor(u * u * segments)));
    const ids_N = tf.tensor1d(ids, 'int32');
    const values = await data.data();
    const want = new Float64Array(segments * channels);
    ids.forEach((id, i) => {
      for (let c = 0; c < channels; c++) want[id * channels + c]! += values[i * channels + c]!;
    });
    const [first, second] = await expectNoLeaks(async () => {
      const runs: Float32Array[] = [];
      for (let r = 0; r < 2; r++) {
        const sum = orderedSegmentSum(data, ids_N, segments);
        expect(sum.shape).toEqual([segments, channels]);
        runs.push((await sum.data()) as Float32Array);
        sum.dispose();
      }
      return runs;
    });
    const worst = Math.max(...Array.from(first!, (v, i) => Math.abs(v - want[i]!)));
    expect(worst).toBeLessThan(1e-4);
    expect(Array.from(second!)).toEqual(Array.from(first!));
    tf.dispose([data, ids_N]);
  });
});
