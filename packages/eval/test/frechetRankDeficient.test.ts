import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FeatureMatrix } from '../src/featureMatrix.js';
import { featureStatistics, frechetDistanceFromFeatures, frechetTerms, symmetricEigenvaluesInPlace, wasmSimdAvailable } from '../src/index.js';
import { F64Arena, withArena } from '../src/linalg/wasmKernels.js';
import { gaussianMatrix, relErr } from './goldenInputs.js';

// Classifier features as the CLI's eval sees them: ReLU outputs, so many exact zeros, and some units that never
// fire (always-zero dimensions), which leaves both covariances rank-deficient.
function reluFeatures(rows: number, dim: number, seed: number, deadDims: number, shift = 0): FeatureMatrix {
  const g = gaussianMatrix(rows, dim, seed, shift);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dim; j++) g.data[r * dim + j] = j < deadDims ? 0 : Math.max(0, g.data[r * dim + j]!);
  }
  return g;
}

/** `unique` rows of x, each repeated `times` times (interleaved). */
function duplicatedRows(x: FeatureMatrix, unique: number, times: number): FeatureMatrix {
  const { dim } = x;
  const data = new Float64Array(unique * times * dim);
  for (let t = 0; t < times; t++) for (let r = 0; r < unique; r++) data.set(x.data.subarray(r * dim, (r + 1) * dim), (t * unique + r) * dim);
  return { data, rows: unique * times, dim };
}

function centredRows(x: FeatureMatrix): { c: Float64Array; mean: Float64Array } {
  const { rows, dim } = x;
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) mean[j]! += x.data[r * dim + j]! / rows;
  const c = Float64Array.from({ length: rows * dim }, (_, i) => x.data[i]! - mean[i % dim]!);
  return { c, mean };
}

/**
 * Singular values of an m×n matrix (row-major) by one-sided (Hestenes) Jacobi: columns are rotated pairwise until
 * mutually orthogonal, and the singular values are their norms. Zero singular values come out at round-off of the
 * matrix norm, not of its square, which is what makes this an independent check of Σ√λ(K).
 */
function singularValues(a: Float64Array, m: number, n: number): number[] {
  const w = Float64Array.from(a);
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = w[i * n + p]!;
          const y = w[i * n + q]!;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const cs = 1 / Math.sqrt(1 + t * t);
        const sn = cs * t;
        for (let i = 0; i < m; i++) {
          const x = w[i * n + p]!;
          const y = w[i * n + q]!;
          w[i * n + p] = cs * x - sn * y;
          w[i * n + q] = sn * x + cs * y;
        }
      }
    }
    if (!rotated) break;
  }
  return Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += w[i * n + j]! ** 2;
    return Math.sqrt(s);
  });
}

/**
 * FID from the definition with Tr sqrtm(Σ1Σ2) = ‖C1 C2ᵀ‖_* / √((n1−1)(n2−1)) (C centred, not deflated), the nuclear
 * norm taken from one-sided Jacobi on the matrix with the smaller side as columns.
 */
function referenceFid(x1: FeatureMatrix, x2: FeatureMatrix): { fid: number; traceSqrt: number } {
  const a = centredRows(x1);
  const b = centredRows(x2);
  const d = x1.dim;
  const [n1, n2] = [x1.rows, x2.rows];
  // M = C_big C_smallᵀ: rows the larger set, columns the smaller.
  const [big, small, nb, ns] = n1 >= n2 ? [a.c, b.c, n1, n2] : [b.c, a.c, n2, n1];
  const m = new Float64Array(nb * ns);
  for (let i = 0; i < nb; i++) {
    for (let j = 0; j < ns; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += big[i * d + k]! * small[j * d + k]!;
      m[i * ns + j] = s;
    }
  }
  const traceSqrt = singularValues(m, nb, ns).reduce((acc, s) => acc + s, 0) / Math.sqrt((n1 - 1) * (n2 - 1));
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (a.mean[j]! - b.mean[j]!) ** 2;
  const trace1 = a.c.reduce((acc, v) => acc + v * v, 0) / (n1 - 1);
  const trace2 = b.c.reduce((acc, v) => acc + v * v, 0) / (n2 - 1);
  return { fid: meanTerm + trace1 + trace2 - 2 * traceSqrt, traceSqrt };
}

type Fid = (x1: FeatureMatrix, x2: FeatureMatrix) => { fid: number; traceSqrt: number };

/**
 * Both orders against the reference and each other. With unequal row counts the Gram route does the same work in
 * either order, so they agree to round-off of the final sum; with equal counts, or on the statistics route, the order
 * picks which set is factored, and the difference is the zero eigenvalues' √(ε‖K‖).
 */
function expectMatchesReference(fid: Fid, x1: FeatureMatrix, x2: FeatureMatrix, orderTolerance = 1e-12): void {
  const ref = referenceFid(x1, x2);
  const forward = fid(x1, x2);
  const backward = fid(x2, x1);
  // An eigenvalue that is exactly 0 (duplicated rows, singular covariances) comes out as ±ε‖K‖ and adds up to
  // √(ε‖K‖) to the sum of roots: ~1e-8 relative here, as in scipy's sqrtm.
  expect(relErr(forward.traceSqrt, ref.traceSqrt)).toBeLessThan(1e-7);
  expect(relErr(forward.fid, ref.fid)).toBeLessThan(1e-6);
  expect(relErr(backward.fid, ref.fid)).toBeLessThan(1e-6);
  expect(relErr(backward.fid, forward.fid)).toBeLessThan(orderTolerance);
}

function checkRankDeficientCases(fid: Fid): void {
  const d = 128;
  for (const seed of [1, 3, 4]) {
    // Seeds 1, 3 and 4 made the 300 × 300 eigenproblem of the old Gram route stall in QL.
    const real = reluFeatures(300, d, seed, 20);
    const fake = reluFeatures(20, d, seed + 100, 30, 0.2);
    expectMatchesReference(fid, real, fake);
  }
}

describe('Fréchet distance of rank-deficient ReLU features (300 vs 20 rows, 128-d)', () => {
  it(`either argument order matches a one-sided Jacobi reference (WebAssembly SIMD kernels: ${wasmSimdAvailable()})`, () => {
    checkRankDeficientCases(frechetDistanceFromFeatures);
  });

  it('N = d edge cases: Gram route at N = d (also N = d against N = d + 1), statistics route at N = d + 1', () => {
    const d = 32;
    const atD = reluFeatures(d, d, 7, 4);
    const atD2 = reluFeatures(d, d, 8, 6, 0.3);
    const above = reluFeatures(d + 1, d, 9, 5, 0.1);
    const above2 = reluFeatures(d + 1, d, 10, 3);
    expectMatchesReference(frechetDistanceFromFeatures, atD, atD2, 1e-7);
    expectMatchesReference(frechetDistanceFromFeatures, atD, above);
    // Both sets above d: the statistics route, whose covariances are singular through the dead dimensions.
    expectMatchesReference(frechetDistanceFromFeatures, above, above2, 1e-7);
    const viaStatistics = frechetTerms(featureStatistics(above.data, d), featureStatistics(above2.data, d)).fid;
    expect(relErr(viaStatistics, referenceFid(above, above2).fid)).toBeLessThan(1e-6);
  });

  it('identical sets give 0 on both routes', () => {
    const d = 128;
    for (const x of [reluFeatures(20, d, 21, 30), reluFeatures(d, d, 22, 10), reluFeatures(300, d, 23, 20)]) {
      const copy = { data: Float64Array.from(x.data), rows: x.rows, dim: d };
      const terms = frechetDistanceFromFeatures(x, copy);
      expect(terms.fid).toBeLessThan(1e-9 * terms.traceSigma1);
      expect(relErr(terms.traceSqrt, terms.traceSigma1)).toBeLessThan(1e-9);
    }
  });

  it('duplicated rows (rank below the row count) match the reference in either order', () => {
    const d = 128;
    const real = reluFeatures(300, d, 31, 20);
    const fake = duplicatedRows(reluFeatures(10, d, 32, 30, 0.2), 10, 2);
    expectMatchesReference(frechetDistanceFromFeatures, real, fake);
    expectMatchesReference(frechetDistanceFromFeatures, duplicatedRows(real, 100, 3), fake);
  });
});

/** Eigenvalues of a symmetric n×n matrix by cyclic two-sided Jacobi rotations (the test's own float64 reference). */
function jacobiEigenvalues(aIn: Float64Array, n: number): number[] {
  const a = Float64Array.from(aIn);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]!).sort((x, y) => x - y);
}

describe('symmetric eigenvalues of a 300 × 300 matrix of rank 19 (the old Gram route’s K)', () => {
  // K = G Gᵀ with G = C_real C_fakeᵀ (300 × 20, centred): 281 zero eigenvalues next to 19 of order one. Its nonzero
  // eigenvalues are those of the 20 × 20 Gᵀ G, which Jacobi computes independently.
  function gramCase(seed: number): { k: Float64Array; nonzero: number[]; n: number } {
    const d = 128;
    const a = centredRows(reluFeatures(300, d, seed, 20)).c;
    const b = centredRows(reluFeatures(20, d, seed + 100, 30, 0.2)).c;
    const [n, m] = [300, 20];
    const g = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let t = 0; t < d; t++) g[i * m + j]! += (a[i * d + t]! * b[j * d + t]!) / Math.sqrt(299 * 19);
    const k = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let t = 0; t < m; t++) k[i * n + j]! += g[i * m + t]! * g[j * m + t]!;
    const small = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) for (let t = 0; t < n; t++) small[i * m + j]! += g[t * m + i]! * g[t * m + j]!;
    return { k, nonzero: jacobiEigenvalues(small, m), n };
  }

  function expectSpectrum(ev: Float64Array, nonzero: number[]): void {
    const top = nonzero[nonzero.length - 1]!;
    const zeros = ev.length - nonzero.length;
    for (let i = 0; i < zeros; i++) expect(Math.abs(ev[i]!)).toBeLessThan(1e-12 * top);
    // The centred fake set has rank 19, so the smallest of the 20 "nonzero" ones is itself 0.
    nonzero.forEach((lambda, i) => expect(Math.abs(ev[zeros + i]! - lambda)).toBeLessThan(1e-12 * top));
  }

  it.each([1, 3, 4])('seed %i: JavaScript loops and (where available) the WebAssembly SIMD kernels', (seed) => {
    const { k, nonzero, n } = gramCase(seed);
    expectSpectrum(symmetricEigenvaluesInPlace(Float64Array.from(k), n), nonzero);
    const arena = new F64Arena(n * n + 4 * n);
    const ev = withArena(arena, () => {
      const inArena = arena.alloc(n * n);
      inArena.set(k);
      return symmetricEigenvaluesInPlace(inArena, n, (length) => arena.alloc(length));
    });
    expectSpectrum(ev, nonzero);
  });
});

describe('without WebAssembly SIMD (the plain JavaScript fallback)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.resetModules();
  });

  it('the rank-deficient cases match the reference in either order', async () => {
    vi.resetModules();
    vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    const kernels = await import('../src/linalg/wasmKernels.js');
    const fallback = await import('../src/frechetDistanceFromFeatures.js');
    expect(kernels.wasmSimdAvailable()).toBe(false);
    checkRankDeficientCases(fallback.frechetDistanceFromFeatures);
  });
});
