import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, RandomGenerator, ShapeError } from '@nextdetail/core';
import { describe, expect, it } from 'vitest';
import { expectNoLeaks } from '../../../test/backend';
import { gumbelSoftmax, maskDescendingTopP, maskTopKTopP, moreSmoothWeights, sampleTokens } from '../src/index';

const NEG = -Infinity;

async function masked(logits: number[][], opts: { topK?: number; topP?: number }): Promise<number[][]> {
  const x = tf.tensor2d(logits);
  const y = maskTopKTopP(x, opts);
  const out = (await y.array()) as number[][];
  tf.dispose([x, y]);
  return out;
}

describe('maskTopKTopP (VAR)', () => {
  it('keeps the k largest and every tie at the k-th value', async () => {
    expect(await masked([[1, 5, 3, 3, 0]], { topK: 2 })).toEqual([[NEG, 5, 3, 3, NEG]]);
    expect(await masked([[1, 5, 3, 2, 0]], { topK: 2 })).toEqual([[NEG, 5, 3, NEG, NEG]]);
  });

  it('treats 0 as off and k ≥ V as keep-all', async () => {
    expect(await masked([[1, 2, 3]], { topK: 0 })).toEqual([[1, 2, 3]]);
    expect(await masked([[1, 2, 3]], { topK: 7 })).toEqual([[1, 2, 3]]);
  });

  it('removes the ascending mass ≤ 1 − p and never the largest', async () => {
    // probabilities 0.1, 0.2, 0.3, 0.4 (log-probabilities as logits): ascending cumsum 0.1, 0.3, 0.6, 1.0.
    const logits = [[Math.log(0.1), Math.log(0.4), Math.log(0.2), Math.log(0.3)]];
    // p = 0.75: remove cumsum ≤ 0.25 → only 0.1.
    expect((await masked(logits, { topP: 0.75 }))[0]!.map((v) => v === NEG)).toEqual([true, false, false, false]);
    // p = 0.35: remove cumsum ≤ 0.65 → 0.1, 0.2, 0.3; keep 0.4.
    expect((await masked(logits, { topP: 0.35 }))[0]!.map((v) => v === NEG)).toEqual([true, false, true, true]);
    // p tiny: everything but the largest.
    expect((await masked(logits, { topP: 1e-6 }))[0]!.map((v) => v === NEG)).toEqual([true, false, true, true]);
  });

  it('applies top-k first, then top-p on the renormalised survivors, per row', async () => {
    const logits = [
      [Math.log(0.1), Math.log(0.4), Math.log(0.2), Math.log(0.3)],
      [Math.log(0.4), Math.log(0.3), Math.log(0.2), Math.log(0.1)],
    ];
    // top-k 3 leaves 0.4, 0.3, 0.2 → renormalised 4/9, 3/9, 2/9; ascending cumsum 2/9, 5/9, 1; p = 0.7 removes ≤ 0.3.
    const out = await masked(logits, { topK: 3, topP: 0.7 });
    expect(out.map((r) => r.map((v) => v === NEG))).toEqual([
      [true, false, true, false],
      [false, false, true, true],
    ]);
  });

  it('is leak-free and rejects bad input with typed errors', async () => {
    const x = tf.tensor2d([[1, 2, 3]]);
    await expectNoLeaks(() => maskTopKTopP(x, { topK: 2, topP: 0.9 }).dispose());
    expect(() => maskTopKTopP(x, { topK: -1 })).toThrow(InvalidArgumentError);
    expect(() => maskTopKTopP(x, { topK: 1.5 })).toThrow(/topK/);
    expect(() => maskTopKTopP(x, { topP: 1.5 })).toThrow(/topP/);
    const v = tf.tensor1d([1, 2]);
    expect(() => maskTopKTopP(v as unknown as tf.Tensor2D)).toThrow(ShapeError);
    tf.dispose([x, v]);
  });
});

describe('maskDescendingTopP (Hugging Face, NVG)', () => {
  const logits = [[Math.log(0.1), Math.log(0.4), Math.log(0.2), Math.log(0.3)]];
  async function kept(p: number): Promise<boolean[]> {
    const x = tf.tensor2d(logits);
    const y = maskDescendingTopP(x, p);
    const out = ((await y.array()) as number[][])[0]!.map((v) => v !== NEG);
    tf.dispose([x, y]);
    return out;
  }

  it('keeps the token that crosses p (the shift right)', async () => {
    // descending 0.4, 0.3, 0.2, 0.1; mass before each 0, 0.4, 0.7, 0.9.
    expect(await kept(0.5)).toEqual([false, true, false, true]);
    expect(await kept(0.75)).toEqual([false, true, true, true]);
    expect(await kept(0)).toEqual([false, true, false, false]);
    expect(await kept(0.95)).toEqual([true, true, true, true]);
  });

  it('reads p = 0 as "only the maximum" where the VAR rule reads it as "off"', async () => {
    const x = tf.tensor2d(logits);
    const varRule = maskTopKTopP(x, { topP: 0 });
    expect(((await varRule.array()) as number[][])[0]!.every((v) => v !== NEG)).toBe(true);
    expect(await kept(0)).toEqual([false, true, false, false]);
    tf.dispose([x, varRule]);
  });
});

describe('sampleTokens', () => {
  it('is argmax for topK = 1 without a generator', async () => {
    const x = tf.tensor2d([
      [0, 3, 1],
      [2, -1, 1],
    ]);
    const idx = await expectNoLeaks(async () => {
      const t = sampleTokens(x, { topK: 1 });
      const v = Array.from(await t.data());
      t.dispose();
      return v;
    });
    expect(idx).toEqual([1, 0]);
    expect(() => sampleTokens(x, { topK: 2 })).toThrow(/rng/);
    x.dispose();
  });

  it('never draws a masked token and follows the distribution, reproducibly by seed', async () => {
    const probs = [0.1, 0.4, 0.2, 0.3];
    const rows = 4000;
    const x = tf.tidy(() => tf.tile(tf.log(tf.tensor2d([probs])), [rows, 1])) as tf.Tensor2D;
    const draw = async (seed: number, topK: number) => {
      const t = sampleTokens(x, { topK, rng: new RandomGenerator(seed) });
      const v = Array.from(await t.data());
      t.dispose();
      return v;
    };
    const a = await draw(7, 0);
    expect(await draw(7, 0)).toEqual(a);
    expect(await draw(8, 0)).not.toEqual(a);
    const counts = [0, 0, 0, 0];
    for (const i of a) counts[i]!++;
    counts.forEach((c, i) => expect(Math.abs(c / rows - probs[i]!)).toBeLessThan(0.03));
    const top2 = await draw(3, 2);
    expect(new Set(top2)).toEqual(new Set([1, 3]));
    x.dispose();
  });

  it('uses the descending rule on request', async () => {
    const x = tf.tidy(() => tf.tile(tf.log(tf.tensor2d([[0.1, 0.4, 0.2, 0.3]])), [500, 1])) as tf.Tensor2D;
    const t = sampleTokens(x, { topP: 0.5, topPRule: 'descending', rng: new RandomGenerator(1) });
    expect(new Set(await t.data())).toEqual(new Set([1, 3]));
    expect(() => sampleTokens(x, { topPRule: 'x' as 'var', rng: new RandomGenerator(1) })).toThrow(/topPRule/);
    tf.dispose([x, t]);
  });
});

describe('gumbelSoftmax / moreSmoothWeights', () => {
  it('gives rows on the simplex that sharpen as τ falls, with zero weight on masked logits', async () => {
    const x = tf.tensor2d([[0, 1, NEG, 2]]);
    const soft = gumbelSoftmax(x, 10, new RandomGenerator(0));
    const hard = gumbelSoftmax(x, 0.01, new RandomGenerator(0));
    const s = (await soft.array())[0]!;
    const h = (await hard.array())[0]!;
    expect(s.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(s[2]).toBe(0);
    expect(Math.max(...h)).toBeGreaterThan(0.99);
    expect(Math.max(...s)).toBeLessThan(0.9);
    await expectNoLeaks(() => moreSmoothWeights(x, 0.5, new RandomGenerator(1)).dispose());
    expect(() => moreSmoothWeights(x, 2, new RandomGenerator(1))).toThrow(/ratio/);
    tf.dispose([x, soft, hard]);
  });
});
