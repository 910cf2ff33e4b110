/**
 * A factor F (r×n, row-major) with FᵀF = A for a symmetric positive semidefinite n×n matrix A (only the lower
 * triangle is read): the outer-product Cholesky with symmetric pivoting on the largest remaining diagonal, stopped
 * when that is at most n·ε·max diag(A) (LAPACK dpstrf's default tolerance). r is the numerical rank, so a
 * rank-deficient covariance (fewer samples than features) still factors. Rows of F are in pivot order and columns in
 * the original order, so Fᵀ F = A without a permutation. O(n³/6); used only when the unpivoted factorisation fails.
 */
export function pivotedCholesky(a: Float64Array, n: number): { factor: Float64Array; rank: number } {
  // w holds the Schur complement (lower triangle, original indices); perm[k] is the row chosen at step k.
  const w = Float64Array.from(a);
  const remaining = Array.from({ length: n }, (_, i) => i);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, w[i * n + i]!);
  const tolerance = n * Number.EPSILON * maxDiag;
  const rows: Float64Array[] = [];
  const at = (i: number, j: number): number => (i >= j ? i * n + j : j * n + i);
  while (remaining.length > 0) {
    let best = 0;
    for (let t = 1; t < remaining.length; t++) {
      if (w[at(remaining[t]!, remaining[t]!)]! > w[at(remaining[best]!, remaining[best]!)]!) best = t;
    }
    const p = remaining[best]!;
    const pivot = w[at(p, p)]!;
    if (!(pivot > tolerance)) break;
    remaining.splice(best, 1);
    const root = Math.sqrt(pivot);
    const row = new Float64Array(n);
    row[p] = root;
    for (const i of remaining) row[i] = w[at(i, p)]! / root;
    for (const i of remaining) {
      const ri = row[i]!;
      if (ri === 0) continue;
      for (const j of remaining) if (j <= i) w[i * n + j] = w[i * n + j]! - ri * row[j]!;
    }
    rows.push(row);
  }
  const factor = new Float64Array(rows.length * n);
  rows.forEach((row, k) => factor.set(row, k * n));
  return { factor, rank: rows.length };
}
