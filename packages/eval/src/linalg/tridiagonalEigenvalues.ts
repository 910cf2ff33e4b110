import { NextDetailError } from '@nextdetail/core';

// Sweeps allowed for the whole matrix, as LAPACK's dsterf (30 per eigenvalue, pooled so that a hard cluster may use
// what easy eigenvalues left over).
const SWEEPS_PER_EIGENVALUE = 30;

/**
 * Eigenvalues (ascending) of the symmetric tridiagonal matrix with diagonal `d` and sub-diagonal `e` by the implicit
 * QL method with Wilkinson shifts (Golub & Van Loan §8.3.5; Wilkinson & Reinsch's tql1): each sweep chases a bulge up
 * from the bottom of the unreduced block with Givens rotations. O(n²) in all. The inputs are not modified.
 *
 * An off-diagonal entry is dropped once it is below ε·‖T‖ (tql1's test; ‖T‖ the largest absolute row sum), not
 * merely below ε·(|d[m]| + |d[m+1]|): every sweep over a block of norm ‖T‖ leaves round-off of order ε‖T‖ in it, so
 * next to a cluster of (near-)zero eigenvalues — a rank-deficient Gram or covariance matrix — the local test asks
 * for an entry smaller than rounding can produce and the iteration stalls. Dropping ε‖T‖ is a perturbation no larger
 * than the Householder reduction's own backward error.
 */
export function tridiagonalEigenvalues(dIn: Float64Array, eIn: Float64Array): Float64Array {
  const n = dIn.length;
  const d = Float64Array.from(dIn);
  // e[i] couples d[i] and d[i+1]; a trailing zero ends every block.
  const e = new Float64Array(n);
  e.set(eIn.subarray(0, Math.max(0, n - 1)));
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]!) + Math.abs(e[i]!) + (i > 0 ? Math.abs(e[i - 1]!) : 0));
  const negligible = Number.EPSILON * norm;
  const maxSweeps = SWEEPS_PER_EIGENVALUE * n;
  let sweeps = 0;
  for (let l = 0; l < n; l++) {
    for (;;) {
      let m = l;
      while (m < n - 1 && Math.abs(e[m]!) > negligible) m++;
      if (m === l) break;
      if (sweeps === maxSweeps) {
        throw new NextDetailError('ERR_NO_CONVERGENCE', `tridiagonal QL did not converge for eigenvalue ${l} of ${n} in ${maxSweeps} sweeps`);
      }
      sweeps++;
      // Wilkinson shift from the leading 2×2 block, folded into the first rotation's target g.
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // The block split at i: finish this sweep there and start again.
          d[i + 1] = d[i + 1]! - p;
          e[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (underflow) continue;
      d[l] = d[l]! - p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return d.sort();
}
