import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, RandomGenerator, ShapeError, ValueRangeError } from '@nextdetail/core';
import { flowSchedule } from '../src/nvg/flowSchedule.js';
import { splitClusters } from '../src/nvg/structureSplit.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

describe(`NVG sampling pieces [${backendName()}]`, () => {
  it('flowSchedule(25, 256) has the listed times (digest §3.3) and ends at exactly 0', () => {
    const times = flowSchedule(25, 256);
    [1.0, 0.9754, 0.9499, 0.9236, 0.8964].forEach((t, i) => expect(times[i]).toBeCloseTo(t, 4));
    expect(times[25]).toBe(0);
    expect(() => flowSchedule(0, 256)).toThrow(InvalidArgumentError);
  });

  it('splitClusters: the larger clamped half of every parent becomes 2j + 1, ties to the earlier position, leak-free', async () => {
    const next = await expectNoLeaks(async () => {
      // Stage 1: parent 0 = positions {0, 2, 4, 6}, parent 1 = {1, 3, 5, 7}.
      const labels = tf.tensor2d([[0, 1, 0, 1, 0, 1, 0, 1]], [1, 8], 'int32');
      // Clamping makes 3, 5 and 2 tie at 1 in parent 0: the earlier positions 0 and 2 win over 4. Parent 1 picks 3, 7.
      const scores = tf.tensor2d([[3, 0.1, 5, 0.9, 2, -0.5, -2, 0.95]], [1, 8]);
      const split = await splitClusters(labels, scores, 1);
      const result = await split.array();
      tf.dispose([labels, scores, split]);
      return result;
    });
    expect(next).toEqual([[1, 2, 1, 3, 0, 2, 0, 3]]);
  });

  it('splitClusters with Gumbel keys still halves every parent and depends on the generator seed', async () => {
    const labels = tf.tensor2d([Array.from({ length: 64 }, () => 0)], [1, 64], 'int32');
    const scores = tf.zeros([1, 64]);
    const draw = async (seed: number) => {
      const split = await splitClusters(labels, scores, 0, { gumbel: new RandomGenerator(seed) });
      const values = Array.from(await split.data());
      split.dispose();
      return values;
    };
    const [a, b, a2] = [await draw(1), await draw(2), await draw(1)];
    expect(a.filter((l) => l === 1).length).toBe(32);
    expect(a).toEqual(a2);
    expect(a).not.toEqual(b);
    tf.dispose([labels, scores]);
  });

  it('splitClusters refuses labels outside the stage and mismatched scores', async () => {
    const labels = tf.tensor2d([[0, 2]], [1, 2], 'int32');
    const scores = tf.zeros([1, 2]);
    const wrong = tf.zeros([1, 3]);
    await expect(splitClusters(labels, scores, 1)).rejects.toThrow(ValueRangeError);
    await expect(splitClusters(labels, wrong, 1)).rejects.toThrow(ShapeError);
    tf.dispose([labels, scores, wrong]);
  });
});
