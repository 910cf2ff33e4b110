import { NextDetailError } from '@nextdetail/core';

const MAX_ITERATIONS = 60;

/**
 * Eigenvalues (ascending) of the symmetric tridiagonal matrix with diagonal `d` and sub-diagonal `e` by the implicit
 * QL method with Wilkinson shifts (Golub & Van Loan §8.3.5; Wilkinson & Reinsch's tql1): each sweep chases a bulge up
 * from the bottom of the unreduced block with Givens rotations; an off-diagonal entry is dropped once it is below
 * ε·(|d[m]| + |d[m+1]|). O(n²) in all. The inputs are not modified.
 */
export function tridiagonalEigenvalues(dIn: Float64Array, eIn: Float64Array): Float64Array {
  const n = dIn.length;
  const d = Float64Array.from(dIn);
  // e[i] couples d[i] and d[i+1]; a trailing zero ends every block.
  const e = new Float64Array(n);
  e.set(eIn.subarray(0, Math.max(0, n - 1)));
  for (let l = 0; l < n; l++) {
    for (let iteration = 0; ; iteration++) {
      let m = l;
      while (m < n - 1 && Math.abs(e[m]!) > Number.EPSILON * (Math.abs(d[m]!) + Math.abs(d[m + 1]!))) m++;
      if (m === l) break;
      if (iteration === MAX_ITERATIONS) {
        throw new NextDetailError('ERR_NO_CONVERGENCE', `tridiagonal QL did not converge for eigenvalue ${l} in ${MAX_ITERATIONS} sweeps`);
      }
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
