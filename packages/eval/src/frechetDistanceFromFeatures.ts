import { ShapeError } from '@nextdetail/core';
import { featureStatistics } from './featureStatistics.js';
import { checkFeatureMatrix, type FeatureMatrix } from './featureMatrix.js';
import { frechetTerms, type FrechetOptions, type FrechetTerms } from './frechetDistance.js';
import { productNT } from './linalg/congruence.js';
import { deflatedCentredRows } from './linalg/deflatedCentredRows.js';
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
 * Tr sqrtm(Σ1Σ2) = ‖Xs Xbᵀ‖_* / √((ns−1)(nb−1)) with centred X, evaluated as Σ√λ of the symmetric PSD matrix
 * K = (Xs Xbᵀ)(Xb Xsᵀ)/((ns−1)(nb−1)). Xs is the smaller set, so K is at most d×d whichever argument comes first,
 * and each X is first reduced to n − 1 rows (deflatedCentredRows) so that K has no eigenvalue that centring forces
 * to zero. Otherwise the statistics route (`frechetTerms`) is taken.
 */
export function frechetDistanceFromFeatures(x1: FeatureMatrix, x2: FeatureMatrix, options: FrechetOptions = {}): FrechetTerms {
  const a = centred(x1, 'x1');
  const b = centred(x2, 'x2');
  if (x2.dim !== x1.dim) throw new ShapeError('x2.dim', `${x1.dim} (the dimension of x1)`, `${x2.dim}`);
  const d = x1.dim;
  if (x1.rows > d && x2.rows > d) {
    return frechetTerms(featureStatistics(x1.data, d), featureStatistics(x2.data, d), options);
  }
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (a.mean[j]! - b.mean[j]!) ** 2;
  let traceSigma1 = 0;
  for (const v of a.c) traceSigma1 += v * v;
  traceSigma1 /= x1.rows - 1;
  let traceSigma2 = 0;
  for (const v of b.c) traceSigma2 += v * v;
  traceSigma2 /= x2.rows - 1;
  const [small, big] = x2.rows < x1.rows ? [b, a] : [a, b];
  // Rows after deflating the mean direction.
  const ms = Math.min(x1.rows, x2.rows) - 1;
  const mb = Math.max(x1.rows, x2.rows) - 1;
  // The products and the eigenproblem run on the SIMD kernels: both deflated sets, Xs·Xbᵀ and K in one arena.
  const arena = new F64Arena(ms * d + mb * d + ms * mb + ms * ms + 4 * ms);
  const eigenvalues = withArena(arena, () => {
    const ys = arena.alloc(ms * d);
    deflatedCentredRows(small.c, ms + 1, d, ys);
    const yb = arena.alloc(mb * d);
    deflatedCentredRows(big.c, mb + 1, d, yb);
    const gram = arena.alloc(ms * mb);
    productNT(ys, yb, gram, ms, mb, d);
    const k = arena.alloc(ms * ms);
    productNT(gram, gram, k, ms, ms, mb, { lowerOnly: true });
    const scale = 1 / (ms * mb);
    for (let i = 0; i < k.length; i++) k[i] = k[i]! * scale;
    return symmetricEigenvaluesInPlace(k, ms, (length) => arena.alloc(length));
  });
  let traceSqrt = 0;
  for (const lambda of eigenvalues) traceSqrt += Math.sqrt(Math.max(lambda, 0));
  const fid = meanTerm + traceSigma1 + traceSigma2 - 2 * traceSqrt;
  return { fid: Math.max(fid, 0), meanTerm, traceSigma1, traceSigma2, traceSqrt };
}
