import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, describeShape, ShapeError } from '@nextdetail/core';
import { clusterMeans, greedyPairs } from './greedyPairing.js';

/**
 * NVG's structure maps of the latent `f_BHWC`: int32 [B, S, P] with P = H·W positions in row-major order and
 * S = log2(P) + 1 stages; stage s has 2^s equal-size clusters, stage 0 is all zeros and the children of cluster j at
 * stage s are 2j and 2j + 1 at stage s + 1. P must be a power of two (at least 2). The caller owns the result.
 *
 * This is a small greedy combinatorial loop whose float32 rounding decides near-ties, so it runs in plain TypeScript
 * on host arrays (read with `await t.data()`, as WebGPU requires) rather than as tensor ops.
 */
// NVG paper §3.1 (greedy equal-size clustering); reference digest §3.2 "Greedy equal-size binary clustering"
export async function granularityClustering(f_BHWC: tf.Tensor4D): Promise<tf.Tensor3D> {
  checkTensor(f_BHWC, 'f_BHWC', { rank: 4, dtype: 'float32' });
  const [batch, h, w, c] = f_BHWC.shape;
  const positions = h * w;
  if (batch < 1 || c < 1 || positions < 2 || (positions & (positions - 1)) !== 0) {
    throw new ShapeError('f_BHWC', '[B ≥ 1, H, W, C ≥ 1] with H·W a power of two ≥ 2', describeShape(f_BHWC.shape));
  }
  const f = await f_BHWC.data();
  const stages = Math.log2(positions) + 1;
  const labels = new Int32Array(batch * stages * positions);
  for (let b = 0; b < batch; b++) {
    const points = f.subarray(b * positions * c, (b + 1) * positions * c) as Float32Array;
    labels.set(clusterOne(points, positions, c), b * stages * positions);
  }
  return tf.tensor3d(labels, [batch, stages, positions], 'int32');
}

/** The [S·P] label maps of one batch item. */
function clusterOne(points: Float32Array, positions: number, c: number): Int32Array {
  const stages = Math.log2(positions) + 1;
  // Level l (= stage) of the hierarchy: the members of each raw cluster and, below level S − 1, its two children.
  const members: number[][][] = [];
  const children: [number, number][][] = [];
  members[stages - 1] = Array.from({ length: positions }, (_, p) => [p]);
  for (let level = stages - 2; level >= 0; level--) {
    const below = members[level + 1]!;
    const pairs = greedyPairs(clusterMeans(points, below, c), below.length, c);
    members[level] = pairs.map(([i, j]) => [...below[i]!, ...below[j]!]);
    children[level] = pairs;
  }
  return relabel(members, children, positions);
}

/**
 * Top-down relabelling: level 0 is cluster 0, and the children of final label p at level l become 2p (the smaller raw
 * label) and 2p + 1 at level l + 1; greedyPairs gives each pair smaller raw label first. Returns the label of every position at every level, [S·P].
 */
function relabel(members: number[][][], children: [number, number][][], positions: number): Int32Array {
  const stages = members.length;
  const labels = new Int32Array(stages * positions);
  let finalOf = Int32Array.of(0);
  for (let level = 0; level < stages; level++) {
    members[level]!.forEach((cluster, raw) => {
      for (const p of cluster) labels[level * positions + p] = finalOf[raw]!;
    });
    if (level === stages - 1) break;
    const next = new Int32Array(members[level + 1]!.length);
    children[level]!.forEach(([i, j], raw) => {
      next[i] = 2 * finalOf[raw]!;
      next[j] = 2 * finalOf[raw]! + 1;
    });
    finalOf = next;
  }
  return labels;
}
