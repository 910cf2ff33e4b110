import { InvalidArgumentError, ShapeError, checkNumber, describeValue } from '@nextdetail/core';
import { productNT } from './linalg/congruence.js';
import { F64Arena, withArena } from './linalg/wasmKernels.js';

/** Mean and unbiased covariance of a feature set, in float64: what the reference tools' `.npz` files hold. */
export interface FeatureStatistics {
  /** Mean feature, length d. */
  mu: Float64Array;
  /** Covariance with the N−1 divisor (numpy `np.cov(X, rowvar=False)`), d×d row-major, symmetric. */
  sigma: Float64Array;
  /** Number of samples the statistics come from (0 when unknown, e.g. read from a reference `.npz`). */
  count: number;
}

/** The mergeable state of a StatisticsAccumulator: sample count, Σx and Σxxᵀ (d×d row-major, both triangles). */
export interface AccumulatorState {
  dim: number;
  count: number;
  sum: Float64Array;
  sumOuter: Float64Array;
}

// Samples are folded into Σxxᵀ in chunks this tall: the chunk, transposed to feature-major rows, stays in cache while
// every pair of feature rows is multiplied.
const CHUNK_ROWS = 128;

/**
 * Streaming first and second moments of feature vectors in float64: Σx and Σxxᵀ, which add. Feature extraction can
 * therefore be sharded over batches, processes or machines, each shard saving its `state()`, and `merge` combines
 * them into what one pass over all samples would have given (up to float64 rounding of the sums). `statistics()`
 * gives mu and the N−1 covariance `(Σxxᵀ − N·μμᵀ)/(N−1)` (reference-digest §7.3; every reference tool divides by
 * N−1).
 */
export class StatisticsAccumulator {
  readonly dim: number;
  private n = 0;
  private readonly sum: Float64Array;
  // Σxxᵀ (lower triangle accumulated; the upper one is filled when the state is read) and the transposed chunk live
  // in one WebAssembly memory so the SIMD kernels do the rank-k updates.
  private readonly arena: F64Arena;
  private readonly sumOuter: Float64Array;
  private readonly chunk: Float64Array;

  constructor(dim: number) {
    checkNumber(dim, 'dim', { integer: true, min: 1 });
    this.dim = dim;
    this.sum = new Float64Array(dim);
    this.arena = new F64Arena(dim * dim + dim * CHUNK_ROWS);
    this.sumOuter = this.arena.alloc(dim * dim);
    this.chunk = this.arena.alloc(dim * CHUNK_ROWS);
  }

  get count(): number {
    return this.n;
  }

  /**
   * Adds `rows` samples given row-major (rows × dim) in `features`; `rows` defaults to features.length / dim.
   */
  add(features: Float32Array | Float64Array | readonly number[], rows?: number): this {
    const d = this.dim;
    if (!(features instanceof Float32Array || features instanceof Float64Array || Array.isArray(features))) {
      throw new InvalidArgumentError('features', 'a Float32Array, Float64Array or number array', describeValue(features));
    }
    const n = rows ?? Math.floor(features.length / d);
    checkNumber(n, 'rows', { integer: true, min: 0 });
    if (features.length !== n * d) {
      throw new ShapeError('features', `${n} rows × ${d} features = ${n * d} values`, `${features.length} values`);
    }
    // Checked before anything is added, so a bad value leaves the accumulator as it was.
    for (let i = 0; i < features.length; i++) {
      if (!Number.isFinite(features[i]!)) {
        throw new InvalidArgumentError('features', 'finite values', `${features[i]} at row ${Math.floor(i / d)}, feature ${i % d}`);
      }
    }
    const chunk = this.chunk;
    for (let r0 = 0; r0 < n; r0 += CHUNK_ROWS) {
      const b = Math.min(CHUNK_ROWS, n - r0);
      for (let r = 0; r < b; r++) for (let j = 0; j < d; j++) chunk[j * b + r] = features[(r0 + r) * d + j]!;
      // Feature-major rows of length b: Σxxᵀ += chunk·chunkᵀ (lower triangle).
      withArena(this.arena, () => productNT(chunk, chunk, this.sumOuter, d, d, b, { lowerOnly: true }));
      for (let r = 0; r < b; r++) for (let j = 0; j < d; j++) this.sum[j]! += chunk[j * b + r]!;
    }
    this.n += n;
    return this;
  }

  /** Adds another accumulator's (or a saved state's) samples to this one. */
  merge(other: StatisticsAccumulator | AccumulatorState): this {
    const state = other instanceof StatisticsAccumulator ? other.state() : other;
    checkState(state, 'other');
    if (state.dim !== this.dim) throw new ShapeError('other', `statistics of dimension ${this.dim}`, `dimension ${state.dim}`);
    const d = this.dim;
    for (let j = 0; j < d; j++) this.sum[j]! += state.sum[j]!;
    for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) this.sumOuter[i * d + j]! += state.sumOuter[i * d + j]!;
    this.n += state.count;
    return this;
  }

  /** A copy of the sums, for saving a shard (see `saveAccumulatorState`) and merging elsewhere. */
  state(): AccumulatorState {
    const d = this.dim;
    const sumOuter = Float64Array.from(this.sumOuter);
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) sumOuter[j * d + i] = sumOuter[i * d + j]!;
    return { dim: d, count: this.n, sum: Float64Array.from(this.sum), sumOuter };
  }

  static fromState(state: AccumulatorState): StatisticsAccumulator {
    checkState(state, 'state');
    return new StatisticsAccumulator(state.dim).merge(state);
  }

  /** mu and the N−1 covariance; needs at least two samples. */
  statistics(): FeatureStatistics {
    const n = this.n;
    const d = this.dim;
    if (n < 2) throw new InvalidArgumentError('accumulator', 'at least 2 samples for a covariance', `${n}`);
    const mu = this.sum.map((s) => s / n);
    const sigma = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        const c = (this.sumOuter[i * d + j]! - n * mu[i]! * mu[j]!) / (n - 1);
        sigma[i * d + j] = c;
        sigma[j * d + i] = c;
      }
    }
    return { mu, sigma, count: n };
  }
}

function checkState(state: AccumulatorState, argument: string): void {
  if (typeof state !== 'object' || state === null) throw new InvalidArgumentError(argument, 'an accumulator state', describeValue(state));
  checkNumber(state.dim, `${argument}.dim`, { integer: true, min: 1 });
  checkNumber(state.count, `${argument}.count`, { integer: true, min: 0 });
  const d = state.dim;
  if (!(state.sum instanceof Float64Array) || state.sum.length !== d) {
    throw new ShapeError(`${argument}.sum`, `a Float64Array of length ${d}`, describeValue(state.sum));
  }
  if (!(state.sumOuter instanceof Float64Array) || state.sumOuter.length !== d * d) {
    throw new ShapeError(`${argument}.sumOuter`, `a Float64Array of length ${d * d}`, describeValue(state.sumOuter));
  }
}

/** The statistics of one feature matrix (rows × dim, row-major) in one call. */
export function featureStatistics(features: Float32Array | Float64Array | readonly number[], dim: number): FeatureStatistics {
  return new StatisticsAccumulator(dim).add(features).statistics();
}
