import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, ShapeError, ValueRangeError } from '@nextdetail/core';
import { clusterMembers } from './clusterMembers.js';
import { clusterMeans, greedyPairs } from './greedyPairing.js';

/**
 * Splits every stage-`stage` cluster j of `labels_BP` (int32 [B, P], labels in [0, 2^stage)) in two by NVG's greedy
 * equal-size clustering of its own members' features `f_BPC` (float32 [B, P, C]): members merge pairwise, closest
 * means first, round by round, until two groups remain; the group formed first becomes child 2j and the other 2j + 1.
 * Given granularityClustering's stage-`stage` map of the same features, this returns its stage `stage` + 1 (its global
 * rounds never pair across the clusters it ends with), up to the rounding of near-ties. A cluster of odd size carries
 * its unpaired member into the next round, so its halves may differ in size; a one-member cluster becomes 2j. Reads
 * both inputs back; the caller owns the result.
 */
// NVG paper §3.1 (greedy equal-size clustering), applied within each parent as the hierarchy's children are formed
export async function bisectClusters(labels_BP: tf.Tensor, f_BPC: tf.Tensor, stage: number): Promise<tf.Tensor2D> {
  checkTensor(labels_BP, 'labels_BP', { rank: 2, dtype: 'int32' });
  checkTensor(f_BPC, 'f_BPC', { rank: 3, dtype: 'float32' });
  checkNumber(stage, 'stage', { integer: true, min: 0, max: 30 });
  const [batch, positions] = labels_BP.shape as [number, number];
  const c = f_BPC.shape[2]!;
  if (f_BPC.shape[0] !== batch || f_BPC.shape[1] !== positions || c < 1) {
    throw new ShapeError('f_BPC', `[${batch}, ${positions}, C ≥ 1] (B and P of labels_BP)`, describeShape(f_BPC.shape));
  }
  const labels = (await labels_BP.data()) as Int32Array;
  const f = (await f_BPC.data()) as Float32Array;
  const bad = f.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new ValueRangeError('f_BPC', 'finite features', `${f[bad]} at flat index ${bad}`);
  const next = new Int32Array(batch * positions);
  for (let b = 0; b < batch; b++) {
    const points = f.subarray(b * positions * c, (b + 1) * positions * c);
    for (const [parent, ps] of clusterMembers(labels, b, positions, stage)) {
      bisect(points, ps, c).forEach((half, child) => {
        for (const p of half) next[b * positions + p] = 2 * parent + child;
      });
    }
  }
  return tf.tensor2d(next, [batch, positions], 'int32');
}

/** The two halves of one cluster's members (one if it has a single member), the first formed first. */
function bisect(points: Float32Array, members: number[], c: number): number[][] {
  let groups = members.map((p) => [p]);
  while (groups.length > 2) {
    const pairs = greedyPairs(clusterMeans(points, groups, c), groups.length, c);
    const paired = new Uint8Array(groups.length);
    const merged = pairs.map(([i, j]) => {
      paired[i] = paired[j] = 1;
      return [...groups[i]!, ...groups[j]!];
    });
    groups = [...merged, ...groups.filter((_, k) => !paired[k])];
  }
  return groups;
}
