import { ShapeError } from '@nextdetail/core';
import { featureStatistics } from './featureStatistics.js';
import { checkFeatureMatrix, type FeatureMatrix } from './featureMatrix.js';
import { frechetTerms, type FrechetOptions, type FrechetTerms } from './frechetDistance.js';
import { productNT } from './linalg/congruence.js';
import { symmetricEigenvaluesInPlace } from './linalg/symmetricEigenvalues.js';
import { F64Arena, withArena } from './linalg/wasmKernels.js';

function centred(x: FeatureMatrix, argument: string): { c: Float64Array; mean: Float64Array } {
  checkFeatureMatrix(x, argument, 2);
  const { rows, dim } = x;
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) mean[j]! += x.data[r * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= rows;
  const c = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) c[r * dim + j] = x.data[r * dim + j]! - mean[j]!;
  return { c, mean };
}

/**
 * The Fréchet distance between two feature sets. When either set has no more samples than dimensions the covariances
 * are singular and the d×d route wastes work, so the Gram identity of reference-digest §7.3 is used:
 * Tr sqrtm(Σ1Σ2) = ‖X2 X1ᵀ‖_* / √((n1−1)(n2−1)) with centred X, evaluated as Σ√λ of the n1×n1 matrix
 * (X1X2ᵀ)(X2X1ᵀ)/((n1−1)(n2−1)). Otherwise the statistics route (`frechetTerms`) is taken.
 */
export function frechetDistanceFromFeatures(x1: FeatureMatrix, x2: FeatureMatrix, options: FrechetOptions = {}): FrechetTerms {
  const a = centred(x1, 'x1');
  const b = centred(x2, 'x2');
  if (x2.dim !== x1.dim) throw new ShapeError('x2.dim', `${x1.dim} (the dimension of x1)`, `${x2.dim}`);
  const d = x1.dim;
  if (x1.rows > d && x2.rows > d) {
    return frechetTerms(featureStatistics(x1.data, d), featureStatistics(x2.data, d), options);
  }
  const n1 = x1.rows;
  const n2 = x2.rows;
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (a.mean[j]! - b.mean[j]!) ** 2;
  let traceSigma1 = 0;
  for (const v of a.c) traceSigma1 += v * v;
  traceSigma1 /= n1 - 1;
  let traceSigma2 = 0;
  for (const v of b.c) traceSigma2 += v * v;
  traceSigma2 /= n2 - 1;
  // The products and the eigenproblem run on the SIMD kernels: copies of both centred sets, X1X2ᵀ and K in one arena.
  const arena = new F64Arena(n1 * d + n2 * d + n1 * n2 + n1 * n1 + 4 * n1);
  const eigenvalues = withArena(arena, () => {
    const c1 = arena.alloc(n1 * d);
    c1.set(a.c);
    const c2 = arena.alloc(n2 * d);
    c2.set(b.c);
    const gram12 = arena.alloc(n1 * n2);
    productNT(c1, c2, gram12, n1, n2, d);
    const k = arena.alloc(n1 * n1);
    productNT(gram12, gram12, k, n1, n1, n2, { lowerOnly: true });
    const scale = 1 / ((n1 - 1) * (n2 - 1));
    for (let i = 0; i < k.length; i++) k[i] = k[i]! * scale;
    return symmetricEigenvaluesInPlace(k, n1, (length) => arena.alloc(length));
  });
  let traceSqrt = 0;
  for (const lambda of eigenvalues) traceSqrt += Math.sqrt(Math.max(lambda, 0));
  const fid = meanTerm + traceSigma1 + traceSigma2 - 2 * traceSqrt;
  return { fid: Math.max(fid, 0), meanTerm, traceSigma1, traceSigma2, traceSqrt };
}
