import { describe, expect, it } from 'vitest';
import { CheckpointFormatError, RandomGenerator, writeSafetensors } from '@nextdetail/core';
import {
  StatisticsAccumulator,
  decodeAccumulatorNpz,
  decodeNpy,
  decodeStatisticsNpz,
  decodeStatisticsSafetensors,
  encodeAccumulatorNpz,
  encodeNpy,
  encodeStatisticsNpz,
  encodeStatisticsSafetensors,
  featureStatistics,
  frechetDistance,
  kernelInceptionDistance,
} from '../src/index.js';
import { gaussianMatrix, matrixA, matrixB, relErr, thrown } from './goldenInputs.js';

function maxRelDiff(a: Float64Array, b: Float64Array): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff / scale;
}

/** np.cov in plain float64 with centring (two passes), the textbook reference. */
function twoPassCov(x: Float64Array, n: number, d: number): { mu: Float64Array; sigma: Float64Array } {
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j]! += x[i * d + j]! / n;
  const sigma = new Float64Array(d * d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) sigma[a * d + b]! += ((x[i * d + a]! - mu[a]!) * (x[i * d + b]! - mu[b]!)) / (n - 1);
  return { mu, sigma };
}

describe('StatisticsAccumulator', () => {
  const n = 300;
  const d = 24;
  const x = matrixA(n, d).data as Float64Array;

  it('single pass equals the two-pass N−1 covariance', () => {
    const s = featureStatistics(x, d);
    const ref = twoPassCov(x, n, d);
    expect(s.count).toBe(n);
    expect(maxRelDiff(s.mu, ref.mu)).toBeLessThan(1e-13);
    expect(maxRelDiff(s.sigma, ref.sigma)).toBeLessThan(1e-12);
  });

  it('sharded (uneven shards, states saved as .npz and merged) equals single pass', async () => {
    const single = featureStatistics(x, d);
    const cuts = [0, 1, 77, 200, 201, n];
    const merged = new StatisticsAccumulator(d);
    for (let s = 0; s + 1 < cuts.length; s++) {
      const shard = new StatisticsAccumulator(d);
      // Several add() calls per shard, as batches arrive.
      for (let r = cuts[s]!; r < cuts[s + 1]!; r += 50) shard.add(x.subarray(r * d, Math.min(cuts[s + 1]!, r + 50) * d));
      const restored = await decodeAccumulatorNpz(await encodeAccumulatorNpz(shard.state()));
      merged.merge(restored);
    }
    const m = merged.statistics();
    expect(m.count).toBe(n);
    expect(maxRelDiff(m.mu, single.mu)).toBeLessThan(1e-14);
    expect(maxRelDiff(m.sigma, single.sigma)).toBeLessThan(1e-13);
    expect(relErr(frechetDistance(m, featureStatistics(matrixB(n, d).data, d)), frechetDistance(single, featureStatistics(matrixB(n, d).data, d)))).toBeLessThan(1e-12);
  });

  it('rejects bad input with typed errors naming the argument', async () => {
    const acc = new StatisticsAccumulator(4);
    expect(((await thrown(() => acc.add(new Float64Array(7)))) as Error).name).toBe('ShapeError');
    expect(((await thrown(() => acc.add(Float64Array.of(1, 2, NaN, 4)))) as { argument: string }).argument).toBe('features');
    expect(((await thrown(() => acc.statistics())) as { argument: string }).argument).toBe('accumulator');
    expect(((await thrown(() => acc.merge(new StatisticsAccumulator(5)))) as Error).name).toBe('ShapeError');
  });
});

describe('statistics files', () => {
  const d = 6;
  const stats = featureStatistics(matrixB(40, d).data, d);

  it('.npy round trip, header aligned to 64 bytes as numpy writes it', () => {
    const bytes = encodeNpy({ shape: [d, d], data: stats.sigma });
    expect((10 + new DataView(bytes.buffer).getUint16(8, true)) % 64).toBe(0);
    expect(new TextDecoder('latin1').decode(bytes.subarray(10, 70))).toContain("'descr': '<f8', 'fortran_order': False, 'shape': (6, 6)");
    const back = decodeNpy(bytes);
    expect(back.shape).toEqual([d, d]);
    expect(Array.from(back.data as Float64Array)).toEqual(Array.from(stats.sigma));
  });

  it('.npz (mu, sigma) and float64 safetensors round trips are exact', async () => {
    const npz = await decodeStatisticsNpz(await encodeStatisticsNpz(stats));
    expect(Array.from(npz.mu)).toEqual(Array.from(stats.mu));
    expect(Array.from(npz.sigma)).toEqual(Array.from(stats.sigma));
    const bytes = await encodeStatisticsSafetensors(stats);
    const st = await decodeStatisticsSafetensors(bytes);
    expect(Array.from(st.mu)).toEqual(Array.from(stats.mu));
    expect(Array.from(st.sigma)).toEqual(Array.from(stats.sigma));
    expect(st.count).toBe(40);
    // A truncated file and a file without sigma are refused, naming what is wrong.
    const truncated = await thrown(() => decodeStatisticsSafetensors(bytes.subarray(0, bytes.length - 8), 'stats.safetensors'));
    expect(truncated).toBeInstanceOf(CheckpointFormatError);
    expect(String(truncated)).toContain('stats.safetensors');
    const muOnly = await writeSafetensors({ mu: { dtype: 'F64', shape: [6], data: stats.mu } });
    expect(String(await thrown(() => decodeStatisticsSafetensors(muOnly, 'stats.safetensors')))).toMatch(/stats\.safetensors.*tensor "sigma".*got tensors mu/);
    // float32 statistics are read, widened.
    const f32 = await writeSafetensors({ mu: { dtype: 'F32', shape: [6], data: Float32Array.from(stats.mu) }, sigma: { dtype: 'F32', shape: [6, 6], data: Float32Array.from(stats.sigma) } });
    expect(Array.from((await decodeStatisticsSafetensors(f32)).mu)).toEqual(Array.from(stats.mu, Math.fround));
    expect(((await thrown(() => decodeStatisticsNpz(new Uint8Array(10)))) as { argument: string }).argument).toBe('npz');
  });
});

describe('kernelInceptionDistance', () => {
  it('with subsets as large as both sets equals the direct unbiased MMD² for any generator state', async () => {
    const d = 5;
    const real = matrixA(12, d);
    const gen = matrixB(12, d);
    const k = (a: Float64Array | Float32Array, i: number, b: Float64Array | Float32Array, j: number) => {
      let s = 0;
      for (let t = 0; t < d; t++) s += a[i * d + t]! * b[j * d + t]!;
      return (s / d + 1) ** 3;
    };
    let xx = 0;
    let yy = 0;
    let xy = 0;
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < 12; j++) {
        if (i !== j) {
          xx += k(gen.data, i, gen.data, j);
          yy += k(real.data, i, real.data, j);
        }
        xy += k(gen.data, i, real.data, j);
      }
    }
    const expected = (xx + yy) / (12 * 11) - (2 * xy) / 144;
    const r = await kernelInceptionDistance(real, gen, new RandomGenerator(5), { subsets: 3, subsetSize: 100 });
    expect(Math.abs(r.mean - expected)).toBeLessThan(1e-5 * Math.abs(expected) + 1e-6);
    expect(r.std).toBeLessThan(1e-6);
  });

  it('is reproducible for a seed and near 0 for two halves of one distribution', async () => {
    const a = gaussianMatrix(100, 8, 1);
    const b = gaussianMatrix(100, 8, 2);
    const r1 = await kernelInceptionDistance(a, b, new RandomGenerator(1), { subsets: 4, subsetSize: 50 });
    const r2 = await kernelInceptionDistance(a, b, new RandomGenerator(1), { subsets: 4, subsetSize: 50 });
    expect(r1).toEqual(r2);
    const far = await kernelInceptionDistance(a, gaussianMatrix(100, 8, 3, 1), new RandomGenerator(1), { subsets: 4, subsetSize: 50 });
    expect(far.mean).toBeGreaterThan(10 * Math.abs(r1.mean));
  });
});
