import { InvalidArgumentError, ShapeError } from '@nextdetail/core';
import type { FeatureStatistics } from './featureStatistics.js';

// core's safetensors reader/writer has no F64; statistics must stay float64, so this file handles exactly the F64/F32
// tensors of a statistics file (format: 8-byte little-endian header length, JSON header, raw little-endian data).

/** `mu` [d] and `sigma` [d, d] as float64 safetensors, with the sample count in `__metadata__`. */
export function encodeStatisticsSafetensors(stats: FeatureStatistics): Uint8Array {
  const d = stats.mu.length;
  const header = JSON.stringify({
    __metadata__: { kind: 'fid_statistics', count: String(stats.count) },
    mu: { dtype: 'F64', shape: [d], data_offsets: [0, 8 * d] },
    sigma: { dtype: 'F64', shape: [d, d], data_offsets: [8 * d, 8 * d + 8 * d * d] },
  });
  const json = new TextEncoder().encode(header);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + 8 * (d + d * d));
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  out.set(new Uint8Array(stats.mu.buffer, stats.mu.byteOffset, stats.mu.byteLength), 8 + headerLength);
  out.set(new Uint8Array(stats.sigma.buffer, stats.sigma.byteOffset, stats.sigma.byteLength), 8 + headerLength + 8 * d);
  return out;
}

/** Reads `mu` and `sigma` (F64 or F32) from safetensors bytes. */
export function decodeStatisticsSafetensors(bytes: Uint8Array, name = 'safetensors'): FeatureStatistics {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8) throw new InvalidArgumentError(name, 'a safetensors file', `${bytes.length} bytes`);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) throw new InvalidArgumentError(name, 'a safetensors file', 'a header longer than the file');
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new InvalidArgumentError(name, 'a safetensors file (JSON header)', 'an unparsable header');
  }
  const base = 8 + headerLength;
  const read = (key: string): { shape: number[]; data: Float64Array } => {
    const info = header[key] as { dtype: string; shape: number[]; data_offsets: [number, number] } | undefined;
    if (!info) throw new InvalidArgumentError(name, `a tensor "${key}"`, `tensors ${Object.keys(header).filter((k) => k !== '__metadata__').join(', ')}`);
    const [begin, end] = info.data_offsets;
    const raw = bytes.slice(base + begin, base + end);
    if (info.dtype === 'F64') return { shape: info.shape, data: new Float64Array(raw.buffer) };
    if (info.dtype === 'F32') return { shape: info.shape, data: Float64Array.from(new Float32Array(raw.buffer)) };
    throw new InvalidArgumentError(`${name}:${key}`, 'dtype F64 or F32', info.dtype);
  };
  const mu = read('mu');
  const sigma = read('sigma');
  const d = mu.shape[0] ?? 0;
  if (mu.shape.length !== 1 || sigma.shape.length !== 2 || sigma.shape[0] !== d || sigma.shape[1] !== d) {
    throw new ShapeError(name, 'mu [d] and sigma [d, d]', `mu [${mu.shape.join(', ')}], sigma [${sigma.shape.join(', ')}]`);
  }
  const meta = (header.__metadata__ ?? {}) as Record<string, string>;
  return { mu: mu.data, sigma: sigma.data, count: Number(meta.count ?? 0) };
}
