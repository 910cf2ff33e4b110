import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, InvalidArgumentError, describeValue, RandomGenerator } from '@nextdetail/core';

export interface TokenSamplingOptions {
  /** Keep the k most likely tokens (0: all). top-k = 1 is greedy and needs no generator. */
  topK?: number;
  /** Nucleus: keep the smallest prefix of the sorted distribution whose mass reaches p (1: all). */
  topP?: number;
  temperature?: number;
  /** Required unless topK = 1. */
  rng?: RandomGenerator;
}

/**
 * One token per row of `logits_NV` float32 [N, V], int32 [N]: argmax for topK = 1, otherwise a draw from
 * softmax(logits/temperature) restricted by top-k, then top-p (sorted descending, tokens after the cumulative mass
 * exceeds p removed, the first always kept). The caller owns the result.
 */
// NVG paper App. A.5 (top-p schedule); reference digest §3.4 (HF top-p, top_k, temperature)
export async function sampleTokens(logits_NV: tf.Tensor, options: TokenSamplingOptions = {}): Promise<tf.Tensor1D> {
  const { topK = 0, topP = 1, temperature = 1, rng } = options;
  checkTensor(logits_NV, 'logits_NV', { rank: 2, dtype: 'float32' });
  checkNumber(topK, 'topK', { integer: true, min: 0 });
  checkNumber(topP, 'topP', { min: 0, max: 1, exclusiveMin: true });
  checkNumber(temperature, 'temperature', { min: 0, exclusiveMin: true });
  if (topK === 1) return tf.tidy(() => tf.argMax(logits_NV, 1) as tf.Tensor1D);
  if (!(rng instanceof RandomGenerator)) {
    throw new InvalidArgumentError('rng', 'a RandomGenerator (sampling with topK ≠ 1 is random)', describeValue(rng));
  }
  const [n, v] = logits_NV.shape as [number, number];
  const logits = Float32Array.from(await logits_NV.data(), (x) => x / temperature);
  for (let row = 0; row < n; row++) {
    const l = logits.subarray(row * v, (row + 1) * v);
    const order = Array.from({ length: v }, (_, i) => i).sort((a, b) => l[b]! - l[a]! || a - b);
    let keep = topK > 0 ? Math.min(topK, v) : v;
    if (topP < 1) {
      const max = l[order[0]!]!;
      const weights = order.slice(0, keep).map((i) => Math.exp(l[i]! - max));
      const total = weights.reduce((a, b) => a + b, 0);
      let cumulative = 0;
      for (let k = 0; k < keep; k++) {
        if (k > 0 && cumulative > topP) {
          keep = k;
          break;
        }
        cumulative += weights[k]! / total;
      }
    }
    for (let k = keep; k < v; k++) l[order[k]!] = -Infinity;
  }
  const masked = tf.tensor2d(logits, [n, v], 'float32');
  try {
    return rng.categorical(masked);
  } finally {
    masked.dispose();
  }
}

/**
 * The per-stage top-p of NVG's sampling defaults, from `start` down to `end` on a logarithmic curve:
 * p_i = start − (start − end)·((S − 1)^(i/(S − 1)) − 1)/(S − 2), e.g. [1, 0.978797, …, 0.630797, 0.5] for (1, 0.5, 9).
 */
// Reference digest §3.4 (negative_log_sequence(1.0, 0.5, 9)); the closed form reproduces its listed values
export function negativeLogSequence(start: number, end: number, count: number): number[] {
  checkNumber(count, 'count', { integer: true, min: 1 });
  if (count <= 2) return count === 1 ? [start] : [start, end];
  const n = count - 1;
  return Array.from({ length: count }, (_, i) => start - ((start - end) * (Math.pow(n, i / n) - 1)) / (n - 1));
}
