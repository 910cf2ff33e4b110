import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, describeShape, ShapeError } from '@nextdetail/core';

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

/** The float32 mean of the original vectors of each cluster, [n·C]. */
function clusterMeans(points: Float32Array, clusters: number[][], c: number): Float32Array {
  const means = new Float32Array(clusters.length * c);
  clusters.forEach((cluster, k) => {
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      for (const p of cluster) sum = Math.fround(sum + points[p * c + ch]!);
      means[k * c + ch] = Math.fround(sum / cluster.length);
    }
  });
  return means;
}

// torch.cdist switches to the matrix-product expansion above this many points; its rounding differs from the direct
// sum of squared differences, and pair margins on real features can be that small (digest §0.1 item 10).
const CDIST_DIRECT_MAX_POINTS = 25;

/**
 * One round of merging: repeatedly the globally closest pair among the clusters not yet paired, as [i, j] with i < j,
 * in pick order (which is the merged cluster's raw label). Visiting every pair sorted by distance and keeping those
 * whose clusters are both still free picks the same sequence. Squared distances are compared: the square root is
 * monotone, so it does not change the order.
 */
function greedyPairs(means: Float32Array, n: number, c: number): [number, number][] {
  const squaredDistance = n > CDIST_DIRECT_MAX_POINTS ? expandedSquaredDistance(means, n, c) : directSquaredDistance(means, c);
  const count = (n * (n - 1)) / 2;
  const first = new Int32Array(count);
  const second = new Int32Array(count);
  const distance = new Float32Array(count);
  let k = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++, k++) {
      first[k] = i;
      second[k] = j;
      distance[k] = squaredDistance(i, j);
    }
  // Stable on (i, j) order, so exact ties go to the lexicographically first pair.
  const order = Array.from({ length: count }, (_, q) => q).sort((x, y) => distance[x]! - distance[y]! || x - y);
  const paired = new Uint8Array(n);
  const pairs: [number, number][] = [];
  for (const q of order) {
    const [i, j] = [first[q]!, second[q]!];
    if (paired[i] || paired[j]) continue;
    paired[i] = paired[j] = 1;
    pairs.push([i, j]);
    if (pairs.length === n / 2) break;
  }
  return pairs;
}

/** ‖a − b‖² as float32 Σ (a − b)², torch.cdist's direct path. */
function directSquaredDistance(means: Float32Array, c: number): (i: number, j: number) => number {
  return (i, j) => {
    let sum = 0;
    for (let ch = 0; ch < c; ch++) {
      const d = Math.fround(means[i * c + ch]! - means[j * c + ch]!);
      sum = Math.fround(sum + Math.fround(d * d));
    }
    return sum;
  };
}

/**
 * ‖a − b‖² the way torch.cdist's matrix-product path rounds it: [−2a, |a|², 1]·[b, 1, |b|²] accumulated in float32,
 * clamped at 0, with a the cluster of the smaller index.
 */
function expandedSquaredDistance(means: Float32Array, n: number, c: number): (i: number, j: number) => number {
  const norms = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let ch = 0; ch < c; ch++) sum = Math.fround(sum + Math.fround(means[i * c + ch]! * means[i * c + ch]!));
    norms[i] = sum;
  }
  return (i, j) => {
    let acc = 0;
    for (let ch = 0; ch < c; ch++) acc = Math.fround(acc + Math.fround(-2 * means[i * c + ch]! * means[j * c + ch]!));
    return Math.max(0, Math.fround(Math.fround(acc + norms[i]!) + norms[j]!));
  };
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
