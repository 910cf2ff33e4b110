import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, RandomGenerator, ShapeError } from '@nextdetail/core';
import { philox4x32 } from '../src/random/philox.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

const N = 100_000;

async function values(t: tf.Tensor): Promise<Float64Array> {
  const d = Float64Array.from(await t.data());
  t.dispose();
  return d;
}

function meanVar(x: Float64Array): [number, number] {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  return [mean, x.reduce((a, b) => a + (b - mean) ** 2, 0) / (x.length - 1)];
}

/** Kolmogorov–Smirnov statistic of a sample against a continuous CDF. */
function ksStatistic(x: Float64Array, cdf: (v: number) => number): number {
  const s = Float64Array.from(x).sort();
  let d = 0;
  s.forEach((v, i) => {
    const f = cdf(v);
    d = Math.max(d, (i + 1) / s.length - f, f - i / s.length);
  });
  return d;
}

// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), enough for a KS bound of ~5e-3.
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

// KS critical value at significance 0.001 for large n: 1.95/√n.
const KS_BOUND = 1.95 / Math.sqrt(N);

describe(`RandomGenerator [${backendName()}]`, () => {
  it('Philox4x32-10 reproduces the Random123 known-answer vectors', () => {
    const cases: Array<[number[], number[], number[]]> = [
      [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
      [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
      [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
    ];
    for (const [c, k, want] of cases) {
      const out = new Uint32Array(4);
      philox4x32(c[0]!, c[1]!, c[2]!, c[3]!, k[0]!, k[1]!, out);
      expect(Array.from(out)).toEqual(want);
    }
  });

  it('the same seed and calls give the same draws; another seed, a fork or a resumed state behave as expected', async () => {
    const draw = async (g: RandomGenerator) => [await values(g.uniform([5])), await values(g.normal([3, 2])), await values(g.gumbel([4]))];
    expect(await draw(new RandomGenerator(7))).toEqual(await draw(new RandomGenerator(7)));
    expect((await draw(new RandomGenerator(8)))[0]).not.toEqual((await draw(new RandomGenerator(7)))[0]);
    const g = new RandomGenerator(2 ** 40 + 3);
    await values(g.uniform([10]));
    const resumed = new RandomGenerator(JSON.parse(JSON.stringify(g.state())));
    expect(await draw(resumed)).toEqual(await draw(g));
    const parent = new RandomGenerator(1);
    const before = parent.state();
    const [a, b] = [parent.fork(0), parent.fork(1)];
    expect(parent.state()).toEqual(before);
    expect(await values(a.uniform([8]))).not.toEqual(await values(b.uniform([8])));
    expect(await values(parent.fork(1).uniform([8]))).toEqual(await values(new RandomGenerator(1).fork(1).uniform([8])));
  });

  it('uniform: mean, variance and KS distance within bounds; values in [0, 1)', async () => {
    const u = await values(new RandomGenerator(11).uniform([N]));
    const [mean, variance] = meanVar(u);
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / N));
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(2e-3);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(ksStatistic(u, (v) => v)).toBeLessThan(KS_BOUND);
  });

  it('normal: mean, variance and KS distance within bounds; mean and std are applied', async () => {
    const z = await values(new RandomGenerator(12).normal([N]));
    const [mean, variance] = meanVar(z);
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(N));
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    expect(ksStatistic(z, (v) => 0.5 * (1 + erf(v / Math.SQRT2)))).toBeLessThan(KS_BOUND);
    const [m2, v2] = meanVar(await values(new RandomGenerator(12).normal([N], 3, 2)));
    expect(Math.abs(m2 - 3)).toBeLessThan(0.03);
    expect(Math.abs(v2 - 4)).toBeLessThan(0.08);
  });

  it('gumbel: mean γ, variance π²/6 and KS distance within bounds', async () => {
    const g = await values(new RandomGenerator(13).gumbel([N]));
    const [mean, variance] = meanVar(g);
    expect(Math.abs(mean - 0.5772156649)).toBeLessThan(0.02);
    expect(Math.abs(variance - Math.PI ** 2 / 6)).toBeLessThan(0.05);
    expect(ksStatistic(g, (v) => Math.exp(-Math.exp(-v)))).toBeLessThan(KS_BOUND);
  });

  it('categorical draws follow softmax(logits/τ) and never pick masked entries, leak-free', async () => {
    const probs = [0.1, 0.2, 0.3, 0.4, 0];
    const rows = 20_000;
    const logits = tf.tidy(() => tf.tile(tf.log(tf.tensor2d([probs])), [rows, 1]));
    const g = new RandomGenerator(14);
    const idx = await expectNoLeaks(async () => {
      const t = g.categorical(logits);
      const d = await t.data();
      t.dispose();
      return d;
    });
    const counts = [0, 0, 0, 0, 0];
    idx.forEach((i) => counts[i]!++);
    expect(counts[4]).toBe(0);
    // χ² with 3 degrees of freedom: 16.27 is the 0.001 critical value.
    const chi2 = probs.slice(0, 4).reduce((s, p, i) => s + (counts[i]! - rows * p) ** 2 / (rows * p), 0);
    expect(chi2).toBeLessThan(16.27);
    // A low temperature concentrates on the argmax.
    const cold = g.categorical(logits, 0.05);
    const coldIdx = await cold.data();
    expect(coldIdx.filter((i) => i === 3).length / rows).toBeGreaterThan(0.99);
    tf.dispose([logits, cold]);
  });

  it('rejects bad seeds, shapes and arguments with typed errors', () => {
    expect(() => new RandomGenerator(-1)).toThrow(InvalidArgumentError);
    expect(() => new RandomGenerator(1.5)).toThrow(/seed: expected an integer in \[0, 2\^53\), got 1.5/);
    expect(() => new RandomGenerator({ key: [1, 2 ** 32], counter: 0 })).toThrow(/GeneratorState/);
    expect(() => new RandomGenerator(1).uniform([2, -1])).toThrow(ShapeError);
    expect(() => new RandomGenerator(1).uniform([2], 1, 1)).toThrow(/low < high/);
    expect(() => new RandomGenerator(1).normal([2], 0, -1)).toThrow(/std ≥ 0/);
    const logits = tf.zeros([2, 3]);
    expect(() => new RandomGenerator(1).categorical(logits, 0)).toThrow(/temperature/);
    const flat = tf.zeros([3]);
    expect(() => new RandomGenerator(1).categorical(flat)).toThrow(/logits_BV: expected rank 2/);
    tf.dispose([logits, flat]);
  });
});
