import { describe, expect, it } from 'vitest';
import { expectNoLeaks } from '../../../test/backend.js';
import { fixturePath, readJson } from '../../../test/fixtures.js';
import { featureStatistics, frechetDistance, frechetDistanceFromFeatures, frechetTerms, inceptionScore, precisionRecall } from '../src/index.js';
import { fromRows, matrixA, matrixB, relErr } from './goldenInputs.js';

type Golden = Record<string, Record<string, unknown>>;
const file = 'golden2.json';
const golden = readJson<Golden>(fixturePath('eval', file));

const fidCases = Object.keys(golden).filter((k) => /^N\d+_D\d+$/.test(k));

describe(`Fréchet distance vs ${file}`, () => {
  it.each(fidCases)('%s: statistics, FID (statistics and Gram routes), FID(A, A)', (key) => {
    const g = golden[key] as Record<string, number>;
    const [, n, d] = /^N(\d+)_D(\d+)$/.exec(key)!.map(Number) as [number, number, number];
    const a = featureStatistics(matrixA(n, d).data, d);
    const b = featureStatistics(matrixB(n, d).data, d);
    expect(relErr(a.mu[0]!, g.muA_0!)).toBeLessThan(1e-10);
    expect(relErr(b.mu[0]!, g.muB_0!)).toBeLessThan(1e-10);
    expect(relErr(a.sigma[0]!, g.sigmaA_00!)).toBeLessThan(1e-10);
    expect(relErr(a.sigma[1]!, g.sigmaA_01!)).toBeLessThan(1e-10);
    const terms = frechetTerms(a, b);
    expect(relErr(terms.meanTerm, g.mean_sq_diff!)).toBeLessThan(1e-10);
    expect(relErr(terms.traceSigma1, g.trace_sA!)).toBeLessThan(1e-10);
    expect(relErr(terms.traceSigma2, g.trace_sB!)).toBeLessThan(1e-10);
    // The two reference tools differ at 1e-9 in the singular case: accept either.
    const ref = [g.pytorch_fid!, g.torch_fidelity!];
    expect(Math.min(...ref.map((r) => relErr(terms.fid, r)))).toBeLessThan(1e-6);
    const gram = frechetDistanceFromFeatures(matrixA(n, d), matrixB(n, d));
    expect(Math.min(...ref.map((r) => relErr(gram.fid, r)))).toBeLessThan(1e-6);
    expect(frechetDistance(a, a)).toBeLessThan(1e-6 * (g.trace_sA! + 1));
  });

  it(`diag_analytic and 1d_analytic of ${file}, and the 2048-d pytorch-fid case`, () => {
    const diag = (v: number[]) => {
      const s = new Float64Array(v.length * v.length);
      v.forEach((x, i) => (s[i * v.length + i] = x));
      return s;
    };
    const c = golden.diag_analytic as Record<string, number>;
    const fid = frechetDistance({ mu: Float64Array.of(0, 1, 2), sigma: diag([1, 4, 9]), count: 0 }, { mu: Float64Array.of(1, 1, 0), sigma: diag([4, 1, 1]), count: 0 });
    expect(relErr(fid, c.expected!)).toBeLessThan(1e-12);
    const one = golden['1d_analytic'] as { mu: number[]; var: number[]; expected: number };
    const fid1 = frechetDistance({ mu: Float64Array.of(one.mu[0]!), sigma: Float64Array.of(one.var[0]!), count: 0 }, { mu: Float64Array.of(one.mu[1]!), sigma: Float64Array.of(one.var[1]!), count: 0 });
    expect(relErr(fid1, one.expected)).toBeLessThan(1e-12);
    const d = 2048;
    const fid2048 = frechetDistance({ mu: new Float64Array(d), sigma: diag(Array(d).fill(1)), count: 0 }, { mu: new Float64Array(d).fill(1), sigma: diag(Array(d).fill(1)), count: 0 });
    expect(relErr(fid2048, 2048)).toBeLessThan(1e-12);
  });
});

describe(`Inception Score vs ${file}`, () => {
  const logitsL = (n: number, c: number) => {
    const data = new Float64Array(n * c);
    for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) data[i * c + j] = 3 * Math.sin(0.3 * (i + 1) * (j + 1) + 0.1 * j);
    return { data, rows: n, dim: c };
  };
  it('isc_L_N100_C10: 10 splits and 1 split', () => {
    const g = golden.isc_L_N100_C10 as Record<string, { inception_score_mean: number; inception_score_std: number }>;
    for (const [key, splits] of [['splits10', 10], ['splits1', 1]] as const) {
      const r = inceptionScore(logitsL(100, 10), { splits });
      expect(relErr(r.mean, g[key]!.inception_score_mean)).toBeLessThan(1e-10);
      expect(Math.abs(r.std - g[key]!.inception_score_std)).toBeLessThan(1e-10);
    }
  });
  it('isc_onehot_uniform_expected_10 and isc_identical_rows_expected_1', () => {
    const onehot = fromRows(Array.from({ length: 100 }, (_, i) => Array.from({ length: 10 }, (_, c) => (c === i % 10 ? 0 : -1e4))));
    const g1 = golden.isc_onehot_uniform_expected_10 as Record<string, number>;
    expect(relErr(inceptionScore(onehot).mean, g1.inception_score_mean!)).toBeLessThan(1e-12);
    const same = fromRows(Array.from({ length: 50 }, () => Array.from({ length: 10 }, (_, c) => (c === 3 ? 5 : 0))));
    const g2 = golden.isc_identical_rows_expected_1 as Record<string, number>;
    const r = inceptionScore(same);
    expect(relErr(r.mean, g2.inception_score_mean!)).toBeLessThan(1e-12);
    expect(r.std).toBeLessThan(1e-12);
  });
});

describe(`precision/recall vs ${file}`, () => {
  it('prc_circle_k3', async () => {
    const g = golden.prc_circle_k3 as Record<string, number>;
    const real = fromRows(Array.from({ length: 40 }, (_, i) => [Math.cos((2 * Math.PI * i) / 40), Math.sin((2 * Math.PI * i) / 40)]));
    const gen = fromRows(Array.from({ length: 30 }, (_, i) => [0.8 * Math.cos((2 * Math.PI * i) / 30 + 0.1) + 0.3, 0.8 * Math.sin((2 * Math.PI * i) / 30 + 0.1)]));
    const r = await expectNoLeaks(() => precisionRecall(real, gen, { k: 3 }));
    expect(Math.fround(r.precision)).toBe(g.precision);
    expect(Math.fround(r.recall)).toBe(g.recall);
  });
  it('prc_feats_k3_gen_B200_real_A300_D16 (small blocks)', async () => {
    const g = golden.prc_feats_k3_gen_B200_real_A300_D16 as Record<string, number>;
    const r = await expectNoLeaks(() => precisionRecall(matrixA(300, 16), matrixB(200, 16), { k: 3, blockElements: 5000 }));
    expect(Math.fround(r.precision)).toBe(g.precision);
    expect(Math.fround(r.recall)).toBe(g.recall);
  });
});
