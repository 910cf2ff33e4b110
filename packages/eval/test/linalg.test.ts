import { describe, expect, it } from 'vitest';
import { featureStatistics, frechetDistanceFromFeatures, frechetTerms, symmetricEigenvaluesInPlace, traceSqrtProduct } from '../src/index.js';
import { gaussianMatrix, relErr } from './goldenInputs.js';

/** Q·diag(λ)·Qᵀ with Q a product of three Householder reflections from fixed vectors. */
function withSpectrum(lambda: number[]): Float64Array {
  const n = lambda.length;
  let m = new Float64Array(n * n);
  lambda.forEach((l, i) => (m[i * n + i] = l));
  for (let r = 0; r < 3; r++) {
    const v = Float64Array.from({ length: n }, (_, i) => Math.sin(1.3 * (i + 1) * (r + 1)) + 0.1 * r);
    const vv = v.reduce((a, b) => a + b * b, 0);
    // H M H with H = I − 2vvᵀ/vᵀv.
    const h = (i: number, j: number) => (i === j ? 1 : 0) - (2 * v[i]! * v[j]!) / vv;
    const hm = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) hm[i * n + j]! += h(i, k) * m[k * n + j]!;
    const out = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) out[i * n + j]! += hm[i * n + k]! * h(k, j);
    m = out;
  }
  return m;
}

describe('symmetric eigenvalues (Householder + implicit QL)', () => {
  it('recovers a known spectrum with repeated, negative and zero eigenvalues', () => {
    const lambda = [5, 5, 5, -2, 0, 0, 1e-9, 3.25, 100, 0.5, 7, 7, -1e3, 42, 1];
    const n = lambda.length;
    const ev = symmetricEigenvaluesInPlace(withSpectrum(lambda), n);
    const sorted = [...lambda].sort((a, b) => a - b);
    ev.forEach((v, i) => expect(Math.abs(v - sorted[i]!)).toBeLessThan(1e-10 * 1000));
  });

  it('handles 1×1, 2×2 and already-diagonal/tridiagonal input', () => {
    expect(Array.from(symmetricEigenvaluesInPlace(Float64Array.of(3), 1))).toEqual([3]);
    const two = symmetricEigenvaluesInPlace(Float64Array.of(2, 1, 1, 2), 2);
    expect(Math.abs(two[0]! - 1)).toBeLessThan(1e-15);
    expect(Math.abs(two[1]! - 3)).toBeLessThan(1e-15);
    const tri = Float64Array.of(2, -1, 0, -1, 2, -1, 0, -1, 2);
    const ev = symmetricEigenvaluesInPlace(tri, 3);
    [2 - Math.SQRT2, 2, 2 + Math.SQRT2].forEach((e, i) => expect(Math.abs(ev[i]! - e)).toBeLessThan(1e-14));
  });
});

describe('Tr sqrtm(S1·S2) routes', () => {
  const d = 12;
  it('singular S1 with full-rank S2 (swapped Cholesky) and both singular (pivoted) agree with the Gram identity', () => {
    const few1 = gaussianMatrix(6, d, 11);
    const few2 = gaussianMatrix(8, d, 12, 0.3);
    const many = gaussianMatrix(50, d, 13);
    const s1 = featureStatistics(few1.data, d);
    const s2 = featureStatistics(few2.data, d);
    const sm = featureStatistics(many.data, d);
    expect(traceSqrtProduct(s1.sigma, sm.sigma, d).route).toBe('cholesky');
    expect(traceSqrtProduct(s1.sigma, s2.sigma, d).route).toBe('pivoted');
    const viaStats = frechetTerms(s1, s2).fid;
    const viaGram = frechetDistanceFromFeatures(few1, few2).fid;
    // Singular covariances: the reference tools themselves disagree at 5e-10 (golden2.json N20_D32).
    expect(relErr(viaStats, viaGram)).toBeLessThan(1e-7);
    expect(relErr(frechetTerms(s1, sm).fid, frechetDistanceFromFeatures(few1, many).fid)).toBeLessThan(1e-7);
    // Symmetric in its arguments.
    expect(relErr(frechetTerms(sm, s1).fid, frechetTerms(s1, sm).fid)).toBeLessThan(1e-12);
  });
});

describe('Tr sqrtm(S1·S2) at sizes that run the SIMD kernels', () => {
  it('Tr sqrtm(S·S) = Tr S, and commuting pairs give Σ√(λᵢμᵢ)', () => {
    const n = 97;
    const lambda = Array.from({ length: n }, (_, i) => 0.05 + Math.abs(Math.sin(0.7 * i)) * 3);
    const mu = Array.from({ length: n }, (_, i) => 0.1 + Math.abs(Math.cos(1.3 * i)));
    const s1 = withSpectrum(lambda);
    const s2 = withSpectrum(mu);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += s1[i * n + i]!;
    const same = traceSqrtProduct(s1, s1, n);
    expect(same.route).toBe('cholesky');
    expect(relErr(same.trace, trace)).toBeLessThan(1e-12);
    const expected = lambda.reduce((acc, l, i) => acc + Math.sqrt(l * mu[i]!), 0);
    expect(relErr(traceSqrtProduct(s1, s2, n).trace, expected)).toBeLessThan(1e-12);
    expect(relErr(traceSqrtProduct(s2, s1, n).trace, expected)).toBeLessThan(1e-12);
  });
});
