import * as tf from '@tensorflow/tfjs-core';
import {
  checkNumber,
  checkTensor,
  describeShape,
  describeValue,
  InvalidArgumentError,
  RandomGenerator,
  ShapeError,
} from '@nextdetail/core';
import { clusterMembers } from '@nextdetail/tokenizers';

/** Added inside the logarithm of the Gumbel-top-k keys, as in the reference. */
const LOG_EPS = 1e-8;

/**
 * Splits every stage-`stage` cluster of `labels_BP` (int32 [B, P]) in two by `scores_BP` (float32 [B, P], the
 * generated code channel `stage`): within each parent j the ⌊E/2⌋ highest clamped scores (E = its size; ties to the
 * earlier position) become child 2j + 1 and the rest 2j. With `gumbel`, the keys are log((c + 1)/Σ(c + 1) + 1e-8) +
 * Gumbel noise (c the clamped score, Σ over the parent) — Gumbel-top-k sampling. Returns int32 [B, P]; the caller owns
 * it. Reads both inputs back: the split is a small per-cluster sort.
 */
// NVG paper §2.2.1 (split each parent evenly, Gumbel-top-k); reference digest §3.3 "Split"
export async function splitClusters(
  labels_BP: tf.Tensor,
  scores_BP: tf.Tensor,
  stage: number,
  { gumbel }: { gumbel?: RandomGenerator } = {},
): Promise<tf.Tensor2D> {
  checkTensor(labels_BP, 'labels_BP', { rank: 2, dtype: 'int32' });
  checkTensor(scores_BP, 'scores_BP', { rank: 2, dtype: 'float32' });
  checkNumber(stage, 'stage', { integer: true, min: 0, max: 30 });
  if (scores_BP.shape[0] !== labels_BP.shape[0] || scores_BP.shape[1] !== labels_BP.shape[1]) {
    throw new ShapeError('scores_BP', `the shape of labels_BP, ${describeShape(labels_BP.shape)}`, describeShape(scores_BP.shape));
  }
  if (gumbel !== undefined && !(gumbel instanceof RandomGenerator)) {
    throw new InvalidArgumentError('gumbel', 'a RandomGenerator or undefined', describeValue(gumbel));
  }
  const [batch, positions] = labels_BP.shape as [number, number];
  const labels = (await labels_BP.data()) as Int32Array;
  const scores = (await scores_BP.data()) as Float32Array;
  let noise: Float32Array | undefined;
  if (gumbel) {
    const g = gumbel.gumbel([batch * positions]);
    noise = (await g.data()) as Float32Array;
    g.dispose();
  }
  const next = new Int32Array(batch * positions);
  for (let b = 0; b < batch; b++) {
    for (const [parent, ps] of clusterMembers(labels, b, positions, stage)) {
      const clamped = ps.map((p) => Math.fround(Math.min(1, Math.max(-1, scores[b * positions + p]!))));
      let keys = clamped;
      if (noise) {
        const total = clamped.reduce((a, c) => a + c + 1, 0);
        keys = clamped.map((c, i) => Math.log((c + 1) / total + LOG_EPS) + noise[b * positions + ps[i]!]!);
      }
      const order = ps.map((_, i) => i).sort((x, y) => keys[y]! - keys[x]! || x - y);
      const chosen = new Set(order.slice(0, Math.floor(ps.length / 2)));
      ps.forEach((p, i) => (next[b * positions + p] = 2 * parent + (chosen.has(i) ? 1 : 0)));
    }
  }
  return tf.tensor2d(next, [batch, positions], 'int32');
}
