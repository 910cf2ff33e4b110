import { cholesky } from './cholesky.js';
import { congruence } from './congruence.js';
import { pivotedCholesky } from './pivotedCholesky.js';
import { symmetricEigenvaluesInPlace } from './symmetricEigenvalues.js';
import { F64Arena, withArena } from './wasmKernels.js';

export interface TraceSqrtResult {
  /** Tr sqrtm(S1·S2) = Σ √max(λᵢ, 0). */
  trace: number;
  /** The smallest eigenvalue λ of the symmetric similar matrix (negative only through round-off or bad input). */
  minEigenvalue: number;
  /**
   * Which route was taken: 'diagonal' (both diagonal), 'cholesky' (factor of S1 or, failing that, S2) or 'pivoted'
   * (semidefinite factor of S1).
   */
  route: 'diagonal' | 'cholesky' | 'pivoted';
}

function isDiagonal(s: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j && s[i * n + j] !== 0) return false;
  return true;
}

function transposeInto(l: Float64Array, u: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) u[j * n + i] = l[i * n + j]!;
}

/**
 * Tr sqrtm(S1·S2) for symmetric positive semidefinite S1, S2 (n×n, row-major, both triangles filled) without forming
 * the non-symmetric product: with S1 = FᵀF, S1·S2 = Fᵀ(F S2) is similar to the PSD matrix F S2 Fᵀ (reference-digest
 * §7.3), whose eigenvalues come from a symmetric solver. F is the transposed Cholesky factor of S1 (or of S2 with the
 * roles swapped, the trace being symmetric in the two), or a pivoted semidefinite factor of S1 when both are singular
 * (fewer samples than features); its rank r then sizes the eigenproblem.
 */
export function traceSqrtProduct(s1: Float64Array, s2: Float64Array, n: number): TraceSqrtResult {
  if (isDiagonal(s1, n) && isDiagonal(s2, n)) {
    // Σ1Σ2 is diagonal: its eigenvalues are the products of the diagonals.
    let trace = 0;
    let minEigenvalue = Infinity;
    for (let i = 0; i < n; i++) {
      const lambda = s1[i * n + i]! * s2[i * n + i]!;
      trace += Math.sqrt(Math.max(lambda, 0));
      minEigenvalue = Math.min(minEigenvalue, lambda);
    }
    return { trace, minEigenvalue, route: 'diagonal' };
  }
  // Everything the O(n³) loops touch lives in one WebAssembly memory so the SIMD kernels can run on it: copies of
  // both covariances, the factor and its transpose, F·S and the result (the factor's space is reused for it).
  const arena = new F64Arena(5 * n * n + 4 * n);
  return withArena(arena, () => {
    const c1 = arena.alloc(n * n);
    c1.set(s1);
    const c2 = arena.alloc(n * n);
    c2.set(s2);
    const scratch = arena.alloc(n * n);
    let factor: Float64Array;
    let other: Float64Array;
    let rank = n;
    let upper = true;
    let route: TraceSqrtResult['route'] = 'cholesky';
    const u = arena.alloc(n * n);
    const l1 = cholesky(c1, n, scratch);
    const l2 = l1 ? null : cholesky(c2, n, scratch);
    if (l1 || l2) {
      transposeInto(scratch, u, n);
      factor = u;
      other = l1 ? c2 : c1;
    } else {
      const pivoted = pivotedCholesky(c1, n);
      rank = pivoted.rank;
      factor = u.subarray(0, rank * n);
      factor.set(pivoted.factor);
      other = c2;
      upper = false;
      route = 'pivoted';
    }
    // F·S into the fresh arena block; the result into the factor's old space (zeroed first).
    let fresh = true;
    const m = congruence(factor, other, rank, n, upper, (length) => {
      if (fresh) {
        fresh = false;
        return arena.alloc(length);
      }
      const block = scratch.subarray(0, length);
      block.fill(0);
      return block;
    });
    const eigenvalues = symmetricEigenvaluesInPlace(m, rank, (length) => arena.alloc(length));
    let trace = 0;
    for (const lambda of eigenvalues) trace += Math.sqrt(Math.max(lambda, 0));
    return { trace, minEigenvalue: rank > 0 ? eigenvalues[0]! : 0, route };
  });
}
