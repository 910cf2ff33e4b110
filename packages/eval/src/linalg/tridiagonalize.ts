import { activeArena } from './wasmKernels.js';

/**
 * Householder reduction of a symmetric n×n matrix (row-major; only the lower triangle is read, and it is overwritten)
 * to tridiagonal form with the same eigenvalues: diagonal `d` (n) and sub-diagonal `e` (n−1). Golub & Van Loan
 * §8.3.1 (LAPACK dsytd2, lower), without the orthogonal factor.
 *
 * Step k reflects column k below the diagonal onto its first entry (H = I − τvvᵀ), then updates the trailing block
 * A ← HAH = A − vwᵀ − wvᵀ with p = τAv and w = p − ½τ(pᵀv)v. The update of step k is applied during the sweep that
 * computes p for step k+1, so each step reads and writes the trailing triangle once: the 2048² case is bound by memory
 * traffic, not arithmetic. `alloc` provides four work vectors of length n (the SIMD kernel runs when they and `a`
 * live in the active F64Arena).
 */
export function tridiagonalize(
  a: Float64Array,
  n: number,
  alloc: (length: number) => Float64Array = (length) => new Float64Array(length),
): { d: Float64Array; e: Float64Array } {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  // The update still pending from the previous step: A −= vPrev·wPrevᵀ + wPrev·vPrevᵀ on indices > that step.
  let vPrev = alloc(n);
  let wPrev = alloc(n);
  let v = alloc(n);
  let p = alloc(n);
  const arena = activeArena;
  const kernels = arena !== null && a.buffer === arena.buffer && vPrev.buffer === arena.buffer ? arena.kernels : null;
  for (let k = 0; k < n; k++) {
    const vk = vPrev[k]!;
    const wk = wPrev[k]!;
    for (let i = k; i < n; i++) a[i * n + k] = a[i * n + k]! - vPrev[i]! * wk - wPrev[i]! * vk;
    d[k] = a[k * n + k]!;
    if (k === n - 1) break;

    const x0 = a[(k + 1) * n + k]!;
    let tailSq = 0;
    for (let i = k + 2; i < n; i++) tailSq += a[i * n + k]! ** 2;
    v.fill(0);
    let tau = 0;
    if (tailSq === 0) {
      e[k] = x0;
    } else {
      const beta = -Math.sign(x0 || 1) * Math.sqrt(x0 * x0 + tailSq);
      tau = (beta - x0) / beta;
      const scale = 1 / (x0 - beta);
      v[k + 1] = 1;
      for (let i = k + 2; i < n; i++) v[i] = a[i * n + k]! * scale;
      e[k] = beta;
    }

    p.fill(0);
    for (let i = k + 1; i < n; ) {
      const len = i - k - 1;
      if (kernels !== null && arena !== null && len >= 16 && i + 1 < n) {
        // Rows i and i+1 together over their common columns, then row i+1's extra column i and both diagonals.
        const o = (k + 1) * 8;
        const r0 = i * n;
        const r1 = (i + 1) * n;
        const [vp0, wp0, vi0, vp1, wp1, vi1] = [vPrev[i]!, wPrev[i]!, v[i]!, vPrev[i + 1]!, wPrev[i + 1]!, v[i + 1]!];
        kernels.sweep2(a.byteOffset + (r0 + k + 1) * 8, a.byteOffset + (r1 + k + 1) * 8, vPrev.byteOffset + o, wPrev.byteOffset + o, v.byteOffset + o, p.byteOffset + o, len, vp0, wp0, vi0, vp1, wp1, vi1, arena.scratchPointer);
        let s1 = arena.scratch[1]!;
        const a00 = a[r0 + i]! - 2 * vp0 * wp0;
        a[r0 + i] = a00;
        p[i]! += arena.scratch[0]! + a00 * vi0;
        const a10 = a[r1 + i]! - vp1 * wPrev[i]! - wp1 * vPrev[i]!;
        a[r1 + i] = a10;
        s1 += a10 * v[i]!;
        p[i]! += a10 * vi1;
        const a11 = a[r1 + i + 1]! - 2 * vp1 * wp1;
        a[r1 + i + 1] = a11;
        p[i + 1]! += s1 + a11 * vi1;
        i += 2;
        continue;
      }
      const row = i * n;
      const vpi = vPrev[i]!;
      const wpi = wPrev[i]!;
      const vi = v[i]!;
      let s = 0;
      if (kernels !== null && len >= 16) {
        const o = (k + 1) * 8;
        s = kernels.sweep(a.byteOffset + (row + k + 1) * 8, vPrev.byteOffset + o, wPrev.byteOffset + o, v.byteOffset + o, p.byteOffset + o, len, vpi, wpi, vi);
      } else {
        for (let j = k + 1; j < i; j++) {
          const aij = a[row + j]! - vpi * wPrev[j]! - wpi * vPrev[j]!;
          a[row + j] = aij;
          s += aij * v[j]!;
          p[j]! += aij * vi;
        }
      }
      const aii = a[row + i]! - 2 * vpi * wpi;
      a[row + i] = aii;
      p[i]! += s + aii * vi;
      i += 1;
    }

    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      p[i] = tau * p[i]!;
      pv += p[i]! * v[i]!;
    }
    const half = 0.5 * tau * pv;
    // The vectors of this step become the pending update; the old buffers are reused for the next step.
    const vOld = vPrev;
    const wOld = wPrev;
    vPrev = v;
    wPrev = p;
    for (let i = k + 1; i < n; i++) wPrev[i] = wPrev[i]! - half * vPrev[i]!;
    v = vOld;
    p = wOld;
  }
  return { d, e };
}
