import { tridiagonalEigenvalues } from './tridiagonalEigenvalues.js';
import { tridiagonalize } from './tridiagonalize.js';

/**
 * Eigenvalues (ascending) of a symmetric n×n matrix given row-major with at least its lower triangle filled:
 * Householder tridiagonalisation, then implicit QL. Eigenvalues only, so O(4n³/3) flops and no orthogonal factor.
 * `a` is overwritten.
 */
export function symmetricEigenvaluesInPlace(
  a: Float64Array,
  n: number,
  alloc?: (length: number) => Float64Array,
): Float64Array {
  const { d, e } = tridiagonalize(a, n, alloc);
  return tridiagonalEigenvalues(d, e);
}
