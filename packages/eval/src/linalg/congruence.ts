import { dot } from './dot.js';

// Tiles of the dot-product form of C = A·Bᵀ: a 64×256 block of each operand (128 KB) stays in L2 while the 64×64
// inner products over it are taken.
const TILE_ROWS = 64;
const TILE_DEPTH = 256;

/**
 * c[i][j] += Σ_k a[i][k]·b[j][k] over k in [lo, depth), with lo = i when `aUpper` (a is upper triangular), lo = j
 * when `bUpper`, else 0; only j ≤ i when `lowerOnly`. Every operand is row-major with `depth` columns.
 */
export function productNT(
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
  rows: number,
  cols: number,
  depth: number,
  { aUpper = false, bUpper = false, lowerOnly = false } = {},
): void {
  for (let i0 = 0; i0 < rows; i0 += TILE_ROWS) {
    const i1 = Math.min(rows, i0 + TILE_ROWS);
    for (let j0 = 0; j0 < (lowerOnly ? i1 : cols); j0 += TILE_ROWS) {
      const j1 = Math.min(cols, j0 + TILE_ROWS);
      for (let k0 = aUpper ? i0 : bUpper ? j0 : 0; k0 < depth; k0 += TILE_DEPTH) {
        const k1 = Math.min(depth, k0 + TILE_DEPTH);
        for (let i = i0; i < i1; i++) {
          const jEnd = lowerOnly ? Math.min(j1, i + 1) : j1;
          const loA = aUpper ? Math.max(k0, i) : k0;
          for (let j = j0; j < jEnd; j++) {
            const lo = bUpper ? Math.max(loA, j) : loA;
            if (lo < k1) c[i * cols + j]! += dot(a, i * depth + lo, b, j * depth + lo, k1 - lo);
          }
        }
      }
    }
  }
}

/**
 * M = F·S·Fᵀ for F (r×n, row-major) and a symmetric S (n×n, both triangles filled): the lower triangle of the r×r
 * result is filled, the upper left at zero. `upper` says F is upper triangular (a transposed Cholesky factor), which
 * halves the work. Both products are in dot-product form over contiguous rows (S's symmetry makes S[m][k] a row
 * read), tiled for the cache.
 */
export function congruence(f: Float64Array, s: Float64Array, r: number, n: number, upper: boolean): Float64Array {
  const fs = new Float64Array(r * n);
  productNT(f, s, fs, r, n, n, { aUpper: upper });
  const m = new Float64Array(r * r);
  productNT(fs, f, m, r, r, n, { bUpper: upper, lowerOnly: true });
  return m;
}
