import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, RandomGenerator, ShapeError, ValueRangeError } from '@nextdetail/core';
import { guide } from '../src/nvg/classifierFreeGuidance.js';
import { flowSchedule, linspace } from '../src/nvg/flowSchedule.js';
import { splitClusters } from '../src/nvg/structureSplit.js';
import { negativeLogSequence, sampleTokens } from '../src/nvg/tokenSampling.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

describe(`NVG sampling pieces [${backendName()}]`, () => {
  it('per-stage schedules: the CFG linspaces and the top-p curve of the digest (§3.4)', () => {
    expect(linspace(1, 3.5, 9)).toEqual([1, 1.3125, 1.625, 1.9375, 2.25, 2.5625, 2.875, 3.1875, 3.5]);
    expect(linspace(1, 2.5, 9)[1]).toBe(1.1875);
    const topP = negativeLogSequence(1, 0.5, 9);
    [1.0, 0.978797, 0.951301, 0.915642, 0.869398, 0.809427, 0.731655, 0.630797, 0.5].forEach((p, i) => expect(topP[i]).toBeCloseTo(p, 6));
  });

  it('flowSchedule(25, 256) has the listed times (digest §3.3) and ends at exactly 0', () => {
    const times = flowSchedule(25, 256);
    [1.0, 0.9754, 0.9499, 0.9236, 0.8964].forEach((t, i) => expect(times[i]).toBeCloseTo(t, 4));
    expect(times[25]).toBe(0);
    expect(() => flowSchedule(0, 256)).toThrow(InvalidArgumentError);
  });

  it('guide: u + s·(c − u) of a [cond; uncond] batch, leak-free', async () => {
    const out = await expectNoLeaks(async () => {
      const x = tf.tensor2d([[1, 2], [3, 5]]);
      const g = guide(x, 2);
      const result = await g.array();
      tf.dispose([x, g]);
      return result;
    });
    expect(out).toEqual([[-1, -1]]);
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

  it('sampleTokens: greedy for top-k 1; top-k and top-p restrict the draws; a generator is required otherwise', async () => {
    const logits = tf.tensor2d([
      [0, 5, 1, 4.9],
      [2, 0, 0, 0],
    ]);
    const greedy = await sampleTokens(logits, { topK: 1 });
    expect(Array.from(await greedy.data())).toEqual([1, 0]);
    greedy.dispose();
    const rng = new RandomGenerator(3);
    const seen = [new Set<number>(), new Set<number>()];
    for (let i = 0; i < 40; i++) {
      const draw = await sampleTokens(logits, { topK: 2, rng });
      const [d0, d1] = Array.from(await draw.data());
      seen[0]!.add(d0!);
      seen[1]!.add(d1!);
      draw.dispose();
    }
    expect([...seen[0]!].sort()).toEqual([1, 3]);
    expect(seen[1]!.size).toBe(2);
    // Row 1: p(token 0) ≈ 0.71 > 0.5, so top-p 0.5 keeps it alone.
    const nucleus = await sampleTokens(logits, { topP: 0.5, rng });
    expect((await nucleus.data())[1]).toBe(0);
    nucleus.dispose();
    await expect(sampleTokens(logits, { topK: 2 })).rejects.toThrow(InvalidArgumentError);
    logits.dispose();
  });
});
