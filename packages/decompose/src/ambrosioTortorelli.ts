import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, withDefaults } from '@nextdetail/core';
import { conjugateGradient, type ConjugateGradientOptions } from './conjugateGradient.js';
import { fromField, PixelGrid, toField } from './finiteDifferences.js';

/**
 * Parameters of the Ambrosio–Tortorelli approximation of the Mumford–Shah functional (CART eq. 8, written with the
 * edge field v = 1 − s):
 *
 *   E(u, v) = Σ (u − g)² + α·v²·|Du|² + β·(ε·|Dv|² + (1 − v)²/(4ε))
 *
 * for an image g with values in [0, 1].
 */
export interface AmbrosioTortorelliOptions {
  /** α: weight of the smoothness term. Larger gives flatter regions. CART uses 10. */
  alpha: number;
  /** β (λ in CART eq. 8): cost of edge length. Smaller lets more edges survive. CART uses 0.01. */
  beta: number;
  /** ε: width of the edge band, in pixels of the [0,1]-scaled problem. 0.01 as in most implementations. */
  epsilon: number;
  /** Outer alternations (v-step then u-step). The energy stops changing after 3–5. */
  iterations: number;
  /** Inner conjugate-gradient solver settings, used for both steps. */
  solver: ConjugateGradientOptions;
}

export const CART_AMBROSIO_TORTORELLI: Readonly<AmbrosioTortorelliOptions> = Object.freeze({
  alpha: 10,
  beta: 0.01,
  epsilon: 0.01,
  iterations: 5,
  solver: Object.freeze({ tolerance: 1e-6, maxIterations: 2000, checkEvery: 10 }),
});

export interface AmbrosioTortorelliResult {
  /** The smoothed image u (same shape as the input). */
  u: tf.Tensor4D;
  /** The edge field v ∈ [0, 1]: ≈1 in smooth regions, ≈0 on edges. */
  v: tf.Tensor4D;
  /** E(u, v) after each outer iteration, summed over pixels: [iterations, batch, channels]. */
  energy: tf.Tensor3D;
  /** Inner solver iterations used per outer iteration: [v-step, u-step]. */
  solverIterations: Array<[number, number]>;
}

export function resolveAmbrosioTortorelliOptions(
  options: Partial<Omit<AmbrosioTortorelliOptions, 'solver'>> & { solver?: Partial<ConjugateGradientOptions> } = {},
  argument = 'options',
): AmbrosioTortorelliOptions {
  const { solver, ...rest } = options;
  const o: AmbrosioTortorelliOptions = {
    ...withDefaults(CART_AMBROSIO_TORTORELLI, rest),
    solver: withDefaults(CART_AMBROSIO_TORTORELLI.solver, solver),
  };
  checkNumber(o.alpha, `${argument}.alpha`, { min: 0 });
  checkNumber(o.beta, `${argument}.beta`, { min: 0, exclusiveMin: true });
  checkNumber(o.epsilon, `${argument}.epsilon`, { min: 0, exclusiveMin: true });
  checkNumber(o.iterations, `${argument}.iterations`, { min: 1, integer: true });
  checkNumber(o.solver.tolerance, `${argument}.solver.tolerance`, { min: 0, exclusiveMin: true });
  checkNumber(o.solver.maxIterations, `${argument}.solver.maxIterations`, { min: 1, integer: true });
  checkNumber(o.solver.checkEvery, `${argument}.solver.checkEvery`, { min: 1, integer: true });
  return o;
}

/** E(u, v) per system (reference-digest §8.2): [systems]. */
function ambrosioTortorelliEnergy(
  grid: PixelGrid,
  g: tf.Tensor,
  u: tf.Tensor,
  v: tf.Tensor,
  { alpha, beta, epsilon }: Pick<AmbrosioTortorelliOptions, 'alpha' | 'beta' | 'epsilon'>,
): tf.Tensor {
  return tf.tidy(() => {
    const fidelity = tf.square(tf.sub(u, g));
    const smoothness = tf.mul(alpha, tf.mul(tf.square(v), grid.gradientMagnitudeSquared(u)));
    const edgeLength = tf.mul(
      beta,
      tf.add(tf.mul(epsilon, grid.gradientMagnitudeSquared(v)), tf.div(tf.square(tf.sub(1, v)), 4 * epsilon)),
    );
    return grid.sum(tf.addN([fidelity, smoothness, edgeLength]));
  });
}

/**
 * Alternating minimisation of E over v and u (reference-digest §8.2; Ambrosio & Tortorelli 1990). Each step is
 * an SPD linear system solved by Jacobi-preconditioned CG, warm-started from the previous iterate:
 *
 *   v-step  [diag(α|Du|² + β/(4ε)) + βε(DxᵀDx + DyᵀDy)] v = β/(4ε)
 *   u-step  [I + α(Dxᵀ V² Dx + Dyᵀ V² Dy)] u = g
 *
 * `image` is an NHWC float32 batch in [0, 1] with H, W ≥ 2; each channel of each image is its own problem. The
 * caller owns the returned tensors.
 */
export async function ambrosioTortorelli(
  image: tf.Tensor4D,
  options: AmbrosioTortorelliOptions,
): Promise<AmbrosioTortorelliResult> {
  const { alpha, beta, epsilon, iterations, solver } = options;
  const [batch, height, width, channels] = image.shape;
  const edgeWeight = beta / (4 * epsilon);
  const grid = new PixelGrid(height, width, batch * channels);
  const g = toField(image);
  const ones = tf.onesLike(g);
  // The v-step's Laplacian term βε(DxᵀDx + DyᵀDy) and its diagonal, which do not depend on u.
  const vLinks = tf.tidy(() => grid.linkWeights(tf.mul(ones, beta * epsilon)));
  const vLaplacianDiagonal = grid.weightedLaplacianDiagonal(vLinks);
  const vRhs = tf.mul(ones, edgeWeight);
  let u = tf.clone(g);
  let v = tf.clone(ones);
  const energies: tf.Tensor[] = [];
  const solverIterations: Array<[number, number]> = [];
  try {
    for (let it = 0; it < iterations; it++) {
      const vWeight = tf.tidy(() => tf.add(tf.mul(alpha, grid.gradientMagnitudeSquared(u)), edgeWeight));
      const vInvDiag = tf.tidy(() => tf.reciprocal(tf.add(vWeight, vLaplacianDiagonal)));
      const applyV = (x: tf.Tensor): tf.Tensor => tf.tidy(() => tf.add(tf.mul(vWeight, x), grid.weightedLaplacian(x, vLinks)));
      const vSolve = await conjugateGradient(grid, applyV, vRhs, v, vInvDiag, solver).finally(() =>
        tf.dispose([vWeight, vInvDiag]),
      );
      v.dispose();
      v = vSolve.x;

      const uLinks = tf.tidy(() => grid.linkWeights(tf.mul(alpha, tf.square(v))));
      const uInvDiag = tf.tidy(() => tf.reciprocal(tf.add(1, grid.weightedLaplacianDiagonal(uLinks))));
      const applyU = (x: tf.Tensor): tf.Tensor => tf.tidy(() => tf.add(x, grid.weightedLaplacian(x, uLinks)));
      const uSolve = await conjugateGradient(grid, applyU, g, u, uInvDiag, solver).finally(() =>
        tf.dispose([uLinks.x, uLinks.y, uInvDiag]),
      );
      u.dispose();
      u = uSolve.x;

      energies.push(ambrosioTortorelliEnergy(grid, g, u, v, options));
      solverIterations.push([vSolve.iterations, uSolve.iterations]);
    }
    const shape = [batch, height, width, channels] as const;
    return tf.tidy(() => ({
      u: fromField(u, shape),
      v: fromField(v, shape),
      energy: tf.reshape(tf.stack(energies), [iterations, batch, channels]) as tf.Tensor3D,
      solverIterations,
    }));
  } finally {
    tf.dispose([u, v, g, ones, vLinks.x, vLinks.y, vLaplacianDiagonal, vRhs, ...energies]);
    grid.dispose();
  }
}
