/**
 * The centred rows of an n×d matrix (row-major) with their mean's direction removed: n − 1 rows Y with
 * YᵀY = Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ. Centred rows C sum to zero, so the Householder reflection H that maps the all-ones
 * vector onto −√n·e₁ zeroes the first row of HC exactly, and the others are Yᵢ = Cᵢ − C₀/(1 + √n). Gram matrices
 * built from Y have no eigenvalue that centring forces to zero; one computed as round-off ε‖K‖ would add √(ε‖K‖) to
 * a sum of square roots. `out` receives (n − 1)·d values.
 */
export function deflatedCentredRows(c: Float64Array, n: number, d: number, out: Float64Array): void {
  const scale = 1 / (1 + Math.sqrt(n));
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < d; j++) out[(i - 1) * d + j] = c[i * d + j]! - c[j]! * scale;
  }
}
