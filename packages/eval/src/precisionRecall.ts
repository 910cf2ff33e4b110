import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, checkNumber, checkTensor } from '@nextdetail/core';
import { checkFeatureMatrix, type FeatureInput } from './featureMatrix.js';

export interface PrecisionRecallOptions {
  /** Neighbourhood size: each point's radius is the distance to its k-th nearest neighbour in its own set (default 3). */
  k?: number;
  /** Largest distance block, in elements (rows × columns), computed at once (default 2²⁴: 64 MB of float32). */
  blockElements?: number;
}

export interface PrecisionRecallResult {
  /** Fraction of generated points inside the k-NN ball of at least one real point. */
  precision: number;
  /** Fraction of real points inside the k-NN ball of at least one generated point. */
  recall: number;
  /** 2PR / max(1e-5, P + R), as torch-fidelity reports it. */
  fScore: number;
}

function toTensor(x: FeatureInput, argument: string): tf.Tensor2D {
  if (x instanceof tf.Tensor) {
    checkTensor(x, argument, { rank: 2, dtype: 'float32' });
    return tf.clone(x);
  }
  const m = checkFeatureMatrix(x, argument);
  return tf.tensor2d(m.data instanceof Float32Array ? m.data : Float32Array.from(m.data), [m.rows, m.dim]);
}

/** Euclidean distances between the rows of `a` [B, d] and `b` [N, d] from |u|² − 2u·v + |v|², clamped at 0. */
function distances(a: tf.Tensor2D, b: tf.Tensor2D, bSq: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const aSq = tf.sum(tf.square(a), 1, true);
    const d2 = tf.add(tf.sub(aSq, tf.mul(2, tf.matMul(a, b, false, true))), tf.expandDims(bSq, 0));
    return tf.sqrt(tf.relu(d2)) as tf.Tensor2D;
  });
}

function blockRows(columns: number, blockElements: number): number {
  return Math.max(1, Math.floor(blockElements / columns));
}

/** The distance from each row of `x` to its k-th nearest other row (the (k+1)-th smallest, itself being the first). */
async function radii(x: tf.Tensor2D, k: number, blockElements: number): Promise<tf.Tensor1D> {
  const n = x.shape[0];
  const xSq = tf.tidy(() => tf.sum(tf.square(x), 1) as tf.Tensor1D);
  const parts: tf.Tensor1D[] = [];
  const step = blockRows(n, blockElements);
  try {
    for (let r0 = 0; r0 < n; r0 += step) {
      const rows = Math.min(step, n - r0);
      parts.push(
        tf.tidy(() => {
          const d = distances(tf.slice(x, [r0, 0], [rows, -1]), x, xSq);
          const smallest = tf.neg(tf.topk(tf.neg(d), k + 1).values);
          return tf.reshape(tf.slice(smallest, [0, k], [rows, 1]), [rows]) as tf.Tensor1D;
        }),
      );
      await parts[parts.length - 1]!.data();
    }
    return tf.concat(parts) as tf.Tensor1D;
  } finally {
    tf.dispose([xSq, ...parts]);
  }
}

/** The fraction of rows of `query` within distance ≤ radius of at least one row of `ref`. */
async function coverage(query: tf.Tensor2D, ref: tf.Tensor2D, refRadii: tf.Tensor1D, blockElements: number): Promise<number> {
  const n = query.shape[0];
  const refSq = tf.tidy(() => tf.sum(tf.square(ref), 1) as tf.Tensor1D);
  const step = blockRows(ref.shape[0], blockElements);
  let inside = 0;
  try {
    for (let r0 = 0; r0 < n; r0 += step) {
      const rows = Math.min(step, n - r0);
      const count = tf.tidy(() => {
        const d = distances(tf.slice(query, [r0, 0], [rows, -1]), ref, refSq);
        const member = tf.any(tf.lessEqual(d, tf.expandDims(refRadii, 0)), 1);
        return tf.sum(tf.cast(member, 'int32'));
      });
      inside += (await count.data())[0]!;
      count.dispose();
    }
  } finally {
    refSq.dispose();
  }
  return inside / n;
}

/**
 * Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls: a point's radius is the distance to its
 * k-th nearest neighbour in its own set; precision is the share of generated points inside some real ball, recall the
 * share of real points inside some generated ball, with `≤` membership
 * (toshas/torch-fidelity:torch_fidelity/metric_prc.py; kynkaat/improved-precision-and-recall-metric). Distances are
 * computed in float32 on the active backend in row blocks, so 50k × 10k sets fit in memory.
 */
export async function precisionRecall(
  real: FeatureInput,
  generated: FeatureInput,
  options: PrecisionRecallOptions = {},
): Promise<PrecisionRecallResult> {
  const { k = 3, blockElements = 2 ** 24 } = options;
  checkNumber(k, 'options.k', { integer: true, min: 1 });
  checkNumber(blockElements, 'options.blockElements', { integer: true, min: 1 });
  const r = toTensor(real, 'real');
  let g: tf.Tensor2D | undefined;
  const held: tf.Tensor[] = [r];
  try {
    g = toTensor(generated, 'generated');
    held.push(g);
    if (g.shape[1] !== r.shape[1]) {
      throw new InvalidArgumentError('generated', `features of dimension ${r.shape[1]} (as real)`, `dimension ${g.shape[1]}`);
    }
    for (const [t, name] of [[r, 'real'], [g, 'generated']] as const) {
      if (t.shape[0] < k + 1) throw new InvalidArgumentError(name, `at least k + 1 = ${k + 1} rows`, `${t.shape[0]} rows`);
    }
    const realRadii = await radii(r, k, blockElements);
    held.push(realRadii);
    const genRadii = await radii(g, k, blockElements);
    held.push(genRadii);
    const precision = await coverage(g, r, realRadii, blockElements);
    const recall = await coverage(r, g, genRadii, blockElements);
    return { precision, recall, fScore: (2 * precision * recall) / Math.max(1e-5, precision + recall) };
  } finally {
    tf.dispose(held);
  }
}
