/**
 * The merge step of NVG's greedy equal-size clustering, shared by the tokenizer's bottom-up hierarchy
 * (granularityClustering) and the within-cluster bisection (bisectClusters). Host arrays in float32 arithmetic, because
 * float32 rounding decides near-ties in the reference.
 */

/** The float32 mean of the original vectors of each cluster, [n·C]. */
export function clusterMeans(points: Float32Array, clusters: number[][], c: number): Float32Array {
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
 * monotone, so it does not change the order. With n odd, one cluster is left unpaired.
 */
export function greedyPairs(means: Float32Array, n: number, c: number): [number, number][] {
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
