import { dot, dot2x2 } from './dot.js';

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
  const out = new Float64Array(4);
  for (let i0 = 0; i0 < rows; i0 += TILE_ROWS) {
    const i1 = Math.min(rows, i0 + TILE_ROWS);
    for (let j0 = 0; j0 < (lowerOnly ? i1 : cols); j0 += TILE_ROWS) {
      const j1 = Math.min(cols, j0 + TILE_ROWS);
      for (let k0 = aUpper ? i0 : bUpper ? j0 : 0; k0 < depth; k0 += TILE_DEPTH) {
        const k1 = Math.min(depth, k0 + TILE_DEPTH);
        // 2×2 blocks of outputs. A block's k range starts at its first row/column: the extra terms are the zeros
        // below the diagonal of a triangular operand.
        for (let i = i0; i < i1; i += 2) {
          const pairI = i + 1 < i1;
          const jEnd = lowerOnly ? Math.min(j1, i + 2) : j1;
          const loA = aUpper ? Math.max(k0, i) : k0;
          for (let j = j0; j < jEnd; j += 2) {
            const pairJ = j + 1 < jEnd;
            const lo = bUpper ? Math.max(loA, j) : loA;
            if (lo >= k1) continue;
            const len = k1 - lo;
            if (pairI && pairJ) {
              dot2x2(a, i * depth + lo, (i + 1) * depth + lo, b, j * depth + lo, (j + 1) * depth + lo, len, out);
              if (!lowerOnly || j <= i) c[i * cols + j]! += out[0]!;
              if (!lowerOnly || j + 1 <= i) c[i * cols + j + 1]! += out[1]!;
              c[(i + 1) * cols + j]! += out[2]!;
              if (!lowerOnly || j + 1 <= i + 1) c[(i + 1) * cols + j + 1]! += out[3]!;
              continue;
            }
            for (let ii = i; ii < (pairI ? i + 2 : i + 1); ii++) {
              for (let jj = j; jj < (pairJ ? j + 2 : j + 1); jj++) {
                if (lowerOnly && jj > ii) continue;
                c[ii * cols + jj]! += dot(a, ii * depth + lo, b, jj * depth + lo, len);
              }
            }
          }
        }
      }
    }
  }
}

/**
 * M = F·S·Fᵀ for F (r×n, row-major) and a symmetric S (n×n, both triangles filled): the lower triangle of the r×r
 * result is filled, the upper left at zero. `upper` says F is upper triangular (a transposed Cholesky factor), which
 * cuts the work from 2n³ to 2n³/3. `alloc` provides the two result arrays (zero-filled). Both products are in dot-product form over contiguous rows (S's symmetry makes S[m][k] a row
 * read), tiled for the cache.
 */
export function congruence(
  f: Float64Array,
  s: Float64Array,
  r: number,
  n: number,
  upper: boolean,
  alloc: (length: number) => Float64Array = (length) => new Float64Array(length),
): Float64Array {
  const fs = alloc(r * n);
  productNT(f, s, fs, r, n, n, { aUpper: upper });
  const m = alloc(r * r);
  // M[i][j] = Σ_k F[i][k]·(F·S)[j][k]: with F upper triangular the terms start at k = i, so the lower triangle costs
  // n³/6 rather than the n³/3 of starting at k = j.
  productNT(f, fs, m, r, r, n, { aUpper: upper, lowerOnly: true });
  return m;
}
