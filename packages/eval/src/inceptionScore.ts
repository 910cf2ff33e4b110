import { InvalidArgumentError, checkNumber, describeValue } from '@nextdetail/core';
import { checkFeatureMatrix, type FeatureMatrix } from './featureMatrix.js';
import { numpyPermutation } from './numpyPermutation.js';

export interface InceptionScoreOptions {
  /** Number of contiguous splits [i·N/splits, (i+1)·N/splits) (default 10, as improved-gan and torch-fidelity). */
  splits?: number;
  /**
   * Shuffle the rows first with `np.random.RandomState(seed).permutation(N)` as torch-fidelity does by default
   * (default false: the improved-gan/TTUR protocol, and what cross-checks need).
   */
  shuffle?: boolean;
  /** The permutation's seed when `shuffle` (default 2020, torch-fidelity's). */
  seed?: number;
}

export interface InceptionScoreResult {
  /** Mean of the split scores. */
  mean: number;
  /** Population standard deviation (ddof 0) of the split scores. */
  std: number;
  /** The score of each split. */
  scores: number[];
}

/** Row-wise log-softmax in float64: finite for logits far below the maximum, where p underflows to 0. */
function logSoftmax(logits: FeatureMatrix, row: number, out: Float64Array): void {
  const c = logits.dim;
  let max = -Infinity;
  for (let j = 0; j < c; j++) max = Math.max(max, logits.data[row * c + j]!);
  let sum = 0;
  for (let j = 0; j < c; j++) sum += Math.exp(logits.data[row * c + j]! - max);
  const logSum = Math.log(sum) + max;
  for (let j = 0; j < c; j++) out[j] = logits.data[row * c + j]! - logSum;
}

/** exp(mean over rows of KL(p_row ‖ mean p)) for rows [begin, end) taken through `order`. */
function splitScore(logits: FeatureMatrix, order: ArrayLike<number>, begin: number, end: number): number {
  const c = logits.dim;
  const n = end - begin;
  const logP = new Float64Array(n * c);
  const q = new Float64Array(c);
  const row = new Float64Array(c);
  for (let r = 0; r < n; r++) {
    logSoftmax(logits, order[begin + r]!, row);
    logP.set(row, r * c);
    for (let j = 0; j < c; j++) q[j]! += Math.exp(row[j]!);
  }
  const logQ = q.map((v) => Math.log(v / n));
  let kl = 0;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < c; j++) {
      const lp = logP[r * c + j]!;
      s += Math.exp(lp) * (lp - logQ[j]!);
    }
    kl += s;
  }
  return Math.exp(kl / n);
}

function checkLogits(logits: FeatureMatrix): void {
  checkFeatureMatrix(logits, 'logits');
  for (let i = 0; i < logits.data.length; i++) {
    if (!Number.isFinite(logits.data[i]!)) throw new InvalidArgumentError('logits', 'finite values', `${logits.data[i]} at index ${i}`);
  }
}

/**
 * The Inception Score (Salimans et al. 2016, IS = exp E_x KL(p(y|x) ‖ p(y))) from classifier logits [N, C], in
 * float64: per split, p = softmax(logits), q = the split's mean p, score = exp(mean_rows Σ_c p·(log p − log q)); the
 * result is the mean and population std over splits (openai/improved-gan:inception_score/model.py,
 * toshas/torch-fidelity:torch_fidelity/metric_isc.py). For the FID-Inception network pass the unbiased logits
 * (pool3 · Wᵀ, no bias) as the references do.
 */
export function inceptionScore(logits: FeatureMatrix, options: InceptionScoreOptions = {}): InceptionScoreResult {
  checkLogits(logits);
  const { splits = 10, shuffle = false, seed = 2020 } = options;
  const n = logits.rows;
  checkNumber(splits, 'options.splits', { integer: true, min: 1, max: n });
  if (typeof shuffle !== 'boolean') throw new InvalidArgumentError('options.shuffle', 'a boolean', describeValue(shuffle));
  const order = shuffle ? numpyPermutation(n, seed) : Int32Array.from({ length: n }, (_, i) => i);
  const scores: number[] = [];
  for (let s = 0; s < splits; s++) {
    scores.push(splitScore(logits, order, Math.floor((s * n) / splits), Math.floor(((s + 1) * n) / splits)));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, scores };
}

/**
 * ADM's variant (openai/guided-diffusion:evaluations/evaluator.py, compute_inception_score): consecutive chunks of
 * `splitSize` rows (default 5000; the last one may be shorter), and only the mean of the chunk scores.
 */
export function inceptionScoreAdm(logits: FeatureMatrix, splitSize = 5000): number {
  checkLogits(logits);
  checkNumber(splitSize, 'splitSize', { integer: true, min: 1 });
  const n = logits.rows;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const scores: number[] = [];
  for (let begin = 0; begin < n; begin += splitSize) scores.push(splitScore(logits, order, begin, Math.min(n, begin + splitSize)));
  return scores.reduce((a, b) => a + b, 0) / scores.length;
}
