import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, RandomGenerator, checkNumber, describeValue } from '@nextdetail/core';
import { checkFeatureMatrix, type FeatureMatrix } from './featureMatrix.js';

export interface KidOptions {
  /** Number of random subsets averaged (default 100, clean-fid's and torch-fidelity's). */
  subsets?: number;
  /** Subset size; capped at the smaller set (default 1000). */
  subsetSize?: number;
  /** Polynomial kernel k(x, y) = (γ·x·y + coef0)^degree; defaults degree 3, γ = 1/d, coef0 = 1. */
  degree?: number;
  gamma?: number;
  coef0?: number;
}

export interface KidResult {
  /** Mean of the subsets' unbiased MMD² estimates. */
  mean: number;
  /** Population standard deviation of those estimates. */
  std: number;
}

/** Draws `m` distinct indices below `n` (a partial Fisher–Yates shuffle with unbiased bounded integers). */
function sampleWithoutReplacement(n: number, m: number, rng: RandomGenerator): Int32Array {
  const pool = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const range = n - i;
    const limit = Math.floor(2 ** 32 / range) * range;
    let w: number;
    do w = rng.words(1)[0]!;
    while (w >= limit);
    const j = i + (w % range);
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.slice(0, m);
}

/** Σ k(xᵢ·yⱼ) over the m×m products of two gathered subsets (products in float32 on the backend, sums in float64). */
async function kernelSum(x: tf.Tensor2D, xi: Int32Array, y: tf.Tensor2D, yi: Int32Array, kernel: (dot: number) => number, skipDiagonal: boolean): Promise<number> {
  const products = tf.tidy(() => tf.matMul(tf.gather(x, tf.tensor1d(xi, 'int32')), tf.gather(y, tf.tensor1d(yi, 'int32')), false, true));
  const values = await products.data();
  products.dispose();
  const m = xi.length;
  let total = 0;
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < yi.length; b++) if (!(skipDiagonal && a === b)) total += kernel(values[a * yi.length + b]!);
  }
  return total;
}

/**
 * Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD² with the cubic polynomial kernel
 * (x·y/d + 1)³, averaged over random subsets of equal size m drawn without replacement from each set
 * (GaParmar/clean-fid:cleanfid/fid.py kernel_distance; torch-fidelity's KID): per subset
 * [Σ_{i≠j} k(xᵢ,xⱼ) + Σ_{i≠j} k(yᵢ,yⱼ)]/(m(m−1)) − 2·Σ_{i,j} k(xᵢ,yⱼ)/m². Subsets come from `rng`; with m equal to
 * both set sizes every subset is the whole set and the result is the plain unbiased MMD². Inner products run in
 * float32 on the active backend (m²·d per subset is far too much for float64 JavaScript); kernel values are summed in
 * float64.
 */
export async function kernelInceptionDistance(
  real: FeatureMatrix,
  generated: FeatureMatrix,
  rng: RandomGenerator,
  options: KidOptions = {},
): Promise<KidResult> {
  checkFeatureMatrix(real, 'real', 2);
  checkFeatureMatrix(generated, 'generated', 2);
  if (generated.dim !== real.dim) {
    throw new InvalidArgumentError('generated', `features of dimension ${real.dim} (as real)`, `dimension ${generated.dim}`);
  }
  if (!(rng instanceof RandomGenerator)) throw new InvalidArgumentError('rng', 'a RandomGenerator', describeValue(rng));
  const d = real.dim;
  const { subsets = 100, subsetSize = 1000, degree = 3, gamma = 1 / d, coef0 = 1 } = options;
  checkNumber(subsets, 'options.subsets', { integer: true, min: 1 });
  checkNumber(subsetSize, 'options.subsetSize', { integer: true, min: 2 });
  checkNumber(degree, 'options.degree', { integer: true, min: 1 });
  checkNumber(gamma, 'options.gamma');
  checkNumber(coef0, 'options.coef0');
  const m = Math.min(subsetSize, real.rows, generated.rows);
  const kernel = (s: number): number => (gamma * s + coef0) ** degree;
  const estimates: number[] = [];
  const g = tf.tensor2d(Float32Array.from(generated.data), [generated.rows, d]);
  const r = tf.tensor2d(Float32Array.from(real.data), [real.rows, d]);
  try {
    for (let t = 0; t < subsets; t++) {
      const gi = sampleWithoutReplacement(generated.rows, m, rng);
      const ri = sampleWithoutReplacement(real.rows, m, rng);
      const within = (await kernelSum(g, gi, g, gi, kernel, true)) + (await kernelSum(r, ri, r, ri, kernel, true));
      const across = await kernelSum(g, gi, r, ri, kernel, false);
      estimates.push(within / (m * (m - 1)) - (2 * across) / (m * m));
    }
  } finally {
    tf.dispose([g, r]);
  }
  const mean = estimates.reduce((a, b) => a + b, 0) / subsets;
  const std = Math.sqrt(estimates.reduce((a, b) => a + (b - mean) ** 2, 0) / subsets);
  return { mean, std };
}
