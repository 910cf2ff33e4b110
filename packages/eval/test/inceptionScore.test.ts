import { describe, expect, it } from 'vitest';
import { inceptionScore, inceptionScoreAdm, numpyPermutation } from '../src/index.js';
import { relErr, thrown } from './goldenInputs.js';

const logits = (n: number, c: number) => {
  const data = new Float64Array(n * c);
  for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) data[i * c + j] = 3 * Math.sin(0.3 * (i + 1) * (j + 1) + 0.1 * j);
  return { data, rows: n, dim: c };
};

describe('Inception Score variants', () => {
  it("numpyPermutation reproduces np.random.RandomState(seed).permutation (values from numpy's legacy MT19937)", () => {
    expect(Array.from(numpyPermutation(20, 2020))).toEqual([6, 9, 12, 4, 5, 14, 1, 2, 15, 10, 19, 18, 7, 16, 13, 11, 17, 3, 8, 0]);
    expect(Array.from(numpyPermutation(1000, 2020).subarray(0, 10))).toEqual([725, 986, 815, 656, 469, 76, 668, 286, 904, 284]);
    expect(Array.from(numpyPermutation(70000, 7).subarray(-5))).toEqual([53459, 10742, 49689, 58564, 61615]);
  });

  it('shuffling (torch-fidelity) changes split scores but not a single split; ADM chunks equal contiguous splits', () => {
    const x = logits(100, 10);
    const plain = inceptionScore(x);
    const shuffled = inceptionScore(x, { shuffle: true });
    expect(shuffled.mean).not.toBe(plain.mean);
    expect(relErr(inceptionScore(x, { splits: 1, shuffle: true }).mean, inceptionScore(x, { splits: 1 }).mean)).toBeLessThan(1e-12);
    expect(relErr(inceptionScoreAdm(x, 10), plain.mean)).toBeLessThan(1e-12);
    expect(relErr(inceptionScoreAdm(x), inceptionScore(x, { splits: 1 }).mean)).toBeLessThan(1e-12);
  });

  it('rejects non-finite logits and bad split counts', async () => {
    const bad = { data: Float64Array.of(0, NaN, 1, 2), rows: 2, dim: 2 };
    expect(((await thrown(() => inceptionScore(bad))) as { argument: string }).argument).toBe('logits');
    expect(((await thrown(() => inceptionScore(logits(5, 3), { splits: 6 }))) as { argument: string }).argument).toBe('options.splits');
  });
});
