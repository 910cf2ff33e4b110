import { dot, dot2x2 } from './dot.js';

// Rows are computed in blocks so that each earlier row of L is read once per block, not once per row: the triangle
// of a 2048² matrix (16 MB) does not fit in cache.
const ROW_BLOCK = 32;

/**
 * The lower Cholesky factor of a symmetric positive definite n×n matrix (row-major; only the lower triangle is read),
 * as a new row-major array with zeros above the diagonal, or null when a pivot is at most n·ε·max diag(A): the
 * matrix is singular or indefinite to working precision, where a factorisation through round-off-sized pivots would
 * be meaningless (pivotedCholesky handles the semidefinite case). Row-oriented (Cholesky–Crout): L[i][j] = (A[i][j] − L[i,:j]·L[j,:j])
 * / L[j][j], so every inner product runs over contiguous rows. `out` (n², zero-filled) receives L if given.
 */
export function cholesky(a: Float64Array, n: number, out?: Float64Array): Float64Array | null {
  const l = out ?? new Float64Array(n * n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, a[i * n + i]!);
  const tolerance = n * Number.EPSILON * maxDiag;
  const pair = new Float64Array(4);
  for (let i0 = 0; i0 < n; i0 += ROW_BLOCK) {
    const i1 = Math.min(n, i0 + ROW_BLOCK);
    // Columns left of the block, two at a time against two rows at a time (each loaded element serves two products):
    // L[i][j+1] needs L[i][j], so the pair's shared prefix [0, j) comes from one 2×2 product and the term at j is
    // added afterwards.
    let j0 = 0;
    for (; j0 + 1 < i0; j0 += 2) {
      const d0 = l[j0 * n + j0]!;
      const d1 = l[(j0 + 1) * n + j0 + 1]!;
      const link = l[(j0 + 1) * n + j0]!;
      for (let i = i0; i < i1; i += 2) {
        const second = Math.min(i + 1, i1 - 1);
        dot2x2(l, i * n, second * n, l, j0 * n, (j0 + 1) * n, j0, pair);
        for (let t = 0; t <= second - i; t++) {
          const r = (i + t) * n;
          const lj = (a[r + j0]! - pair[2 * t]!) / d0;
          l[r + j0] = lj;
          l[r + j0 + 1] = (a[r + j0 + 1]! - pair[2 * t + 1]! - lj * link) / d1;
        }
      }
    }
    for (let j = j0; j < i1; j++) {
      if (j >= i0) {
        const s = a[j * n + j]! - dot(l, j * n, l, j * n, j);
        if (!(s > tolerance)) return null;
        l[j * n + j] = Math.sqrt(s);
      }
      const ljj = l[j * n + j]!;
      for (let i = Math.max(i0, j + 1); i < i1; i++) {
        l[i * n + j] = (a[i * n + j]! - dot(l, i * n, l, j * n, j)) / ljj;
      }
    }
  }
  return l;
}
