import { BlobReader, Uint8ArrayReader, Uint8ArrayWriter, ZipReader, ZipWriter } from '@zip.js/zip.js';
import { InvalidArgumentError, ShapeError } from '@nextdetail/core';
import type { AccumulatorState, FeatureStatistics } from './featureStatistics.js';
import { decodeNpy, encodeNpy, type NpyArray } from './npy.js';

/** Writes named arrays as an `.npz` (a zip of `<name>.npy`, stored uncompressed like `np.savez`). */
export async function encodeNpz(arrays: Record<string, NpyArray>): Promise<Uint8Array> {
  const writer = new Uint8ArrayWriter();
  const zip = new ZipWriter(writer, { useWebWorkers: false, level: 0 });
  for (const [name, array] of Object.entries(arrays)) {
    await zip.add(`${name}.npy`, new Uint8ArrayReader(encodeNpy(array)), { useWebWorkers: false, level: 0 });
  }
  return zip.close();
}

/** Reads every `.npy` of an `.npz` (stored or deflated, as `np.savez` / `np.savez_compressed` write them). */
export async function decodeNpz(bytes: Uint8Array | Blob, name = 'npz'): Promise<Map<string, NpyArray>> {
  const reader = new ZipReader(bytes instanceof Blob ? new BlobReader(bytes) : new Uint8ArrayReader(bytes), { useWebWorkers: false });
  let entries;
  try {
    entries = await reader.getEntries();
  } catch (err) {
    throw new InvalidArgumentError(name, 'an .npz (zip) file', err instanceof Error ? err.message : String(err));
  }
  const out = new Map<string, NpyArray>();
  for (const entry of entries) {
    if (entry.directory || !entry.filename.endsWith('.npy')) continue;
    const data = await entry.getData!(new Uint8ArrayWriter(), { useWebWorkers: false });
    out.set(entry.filename.slice(0, -4), decodeNpy(data, `${name}:${entry.filename}`));
  }
  await reader.close();
  return out;
}

function asFloat64(a: NpyArray): Float64Array {
  return a.data instanceof Float64Array ? a.data : Float64Array.from(a.data as Float32Array);
}

/** `mu` and `sigma` as the reference tools' statistics files hold them (float64; `np.savez(path, mu=…, sigma=…)`). */
export async function encodeStatisticsNpz(stats: FeatureStatistics): Promise<Uint8Array> {
  const d = stats.mu.length;
  return encodeNpz({ mu: { shape: [d], data: stats.mu }, sigma: { shape: [d, d], data: stats.sigma } });
}

/**
 * Reads `mu` and `sigma` from an `.npz` of pytorch-fid/TTUR/ADM/clean-fid statistics (float32 or float64). `suffix`
 * picks another pair, e.g. '_s' for ADM's spatial `mu_s`/`sigma_s`.
 */
export async function decodeStatisticsNpz(bytes: Uint8Array | Blob, suffix = '', name = 'npz'): Promise<FeatureStatistics> {
  const arrays = await decodeNpz(bytes, name);
  const mu = arrays.get(`mu${suffix}`);
  const sigma = arrays.get(`sigma${suffix}`);
  if (!mu || !sigma) {
    throw new InvalidArgumentError(name, `arrays mu${suffix} and sigma${suffix}`, `arrays ${[...arrays.keys()].join(', ') || 'none'}`);
  }
  const d = mu.shape[0] ?? 0;
  if (mu.shape.length !== 1 || sigma.shape.length !== 2 || sigma.shape[0] !== d || sigma.shape[1] !== d) {
    throw new ShapeError(name, 'mu (d,) and sigma (d, d)', `mu (${mu.shape.join(', ')}), sigma (${sigma.shape.join(', ')})`);
  }
  const count = arrays.get('count');
  return { mu: asFloat64(mu), sigma: asFloat64(sigma), count: count ? Number(count.data[0]) : 0 };
}

/** A shard's accumulator state as `.npz` (`count`, `sum`, `sum_outer`), to merge with `StatisticsAccumulator.merge`. */
export async function encodeAccumulatorNpz(state: AccumulatorState): Promise<Uint8Array> {
  const d = state.dim;
  return encodeNpz({
    count: { shape: [1], data: BigInt64Array.of(BigInt(state.count)) },
    sum: { shape: [d], data: state.sum },
    sum_outer: { shape: [d, d], data: state.sumOuter },
  });
}

export async function decodeAccumulatorNpz(bytes: Uint8Array | Blob, name = 'npz'): Promise<AccumulatorState> {
  const arrays = await decodeNpz(bytes, name);
  const count = arrays.get('count');
  const sum = arrays.get('sum');
  const sumOuter = arrays.get('sum_outer');
  if (!count || !sum || !sumOuter) throw new InvalidArgumentError(name, 'arrays count, sum and sum_outer', `arrays ${[...arrays.keys()].join(', ')}`);
  return { dim: sum.shape[0] ?? 0, count: Number(count.data[0]), sum: asFloat64(sum), sumOuter: asFloat64(sumOuter) };
}
