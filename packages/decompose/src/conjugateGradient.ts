import * as tf from '@tensorflow/tfjs-core';
import type { PixelGrid } from './finiteDifferences.js';

export interface ConjugateGradientOptions {
  /** Stop a system once ‖b − A x‖ ≤ tolerance · ‖b‖. float32 arithmetic stalls near 1e-7. */
  tolerance: number;
  /** Hard cap on iterations for the whole batch of systems. */
  maxIterations: number;
  /** How often (in iterations) the residuals are read back to decide whether to stop; reads are slow on GPUs. */
  checkEvery: number;
}

export interface ConjugateGradientResult {
  x: tf.Tensor;
  iterations: number;
  /** Largest relative residual ‖b − A x‖ / ‖b‖ over the batch when the solver stopped. */
  relativeResidual: number;
}

// Guards the divisions once a system has converged and its residual is at float32 underflow.
const TINY = 1e-30;

/**
 * Jacobi-preconditioned conjugate gradients for a batch of independent SPD systems A x = b, one per column of a
 * [pixels, systems] field (Hestenes & Stiefel 1952; Saad, Iterative Methods, Alg. 9.1). `apply` computes A x for the
 * whole batch, `inverseDiagonal` is diag(A)⁻¹. A system stops moving once its own residual is below tolerance, so
 * converged systems are not disturbed while the others finish.
 */
export async function conjugateGradient(
  grid: PixelGrid,
  apply: (x: tf.Tensor) => tf.Tensor,
  b: tf.Tensor,
  x0: tf.Tensor,
  inverseDiagonal: tf.Tensor,
  options: ConjugateGradientOptions,
): Promise<ConjugateGradientResult> {
  const tol2 = options.tolerance * options.tolerance;
  const bb = tf.tidy(() => tf.maximum(grid.dot(b, b), TINY));
  let state = tf.tidy(() => {
    const x = tf.clone(x0);
    const r = tf.sub(b, apply(x));
    const z = tf.mul(inverseDiagonal, r);
    return { x, r, p: z, rz: grid.dot(r, z), rr: grid.dot(r, r) };
  });
  let iterations = 0;
  let relativeResidual = Infinity;
  try {
    for (;;) {
      if (iterations % options.checkEvery === 0 || iterations >= options.maxIterations) {
        const worst = tf.tidy(() => tf.sqrt(tf.max(tf.div(state.rr, bb))));
        relativeResidual = (await worst.data())[0]!;
        worst.dispose();
        if (relativeResidual <= options.tolerance || iterations >= options.maxIterations) break;
      }
      const prev = state;
      state = tf.tidy(() => {
        const active = tf.cast(tf.greater(prev.rr, tf.mul(bb, tol2)), 'float32');
        const ap = apply(prev.p);
        const alpha = tf.mul(active, tf.div(prev.rz, tf.maximum(grid.dot(prev.p, ap), TINY)));
        const x = tf.add(prev.x, tf.mul(alpha, prev.p));
        const r = tf.sub(prev.r, tf.mul(alpha, ap));
        const z = tf.mul(inverseDiagonal, r);
        const rz = grid.dot(r, z);
        const beta = tf.div(rz, tf.maximum(prev.rz, TINY));
        const p = tf.add(z, tf.mul(beta, prev.p));
        return { x, r, p, rz, rr: grid.dot(r, r) };
      });
      tf.dispose([prev.x, prev.r, prev.p, prev.rz, prev.rr]);
      iterations++;
    }
  } catch (err) {
    state.x.dispose();
    throw err;
  } finally {
    tf.dispose([state.r, state.p, state.rz, state.rr, bb]);
  }
  return { x: state.x, iterations, relativeResidual };
}
