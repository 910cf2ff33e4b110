import { bytesFromBuffer, DTypeError, InvalidArgumentError, readSafetensors, ShapeError, writeSafetensors } from '@nextdetail/core';
import type { FeatureStatistics } from './featureStatistics.js';

/** `mu` [d] and `sigma` [d, d] as float64 safetensors, with the sample count in `__metadata__`. */
export async function encodeStatisticsSafetensors(stats: FeatureStatistics): Promise<Uint8Array> {
  const d = stats.mu.length;
  return writeSafetensors(
    { mu: { dtype: 'F64', shape: [d], data: stats.mu }, sigma: { dtype: 'F64', shape: [d, d], data: stats.sigma } },
    { kind: 'fid_statistics', count: String(stats.count) },
  );
}

/**
 * Reads `mu` and `sigma` (F64, or F32 widened) from safetensors bytes. A malformed file is a CheckpointFormatError
 * naming `name`, from core's reader, which validates the whole header first.
 */
export async function decodeStatisticsSafetensors(bytes: Uint8Array, name = 'safetensors'): Promise<FeatureStatistics> {
  const file = await readSafetensors(bytesFromBuffer(bytes, name));
  try {
    const read = async (key: string): Promise<{ shape: number[]; data: Float64Array }> => {
      if (!file.keys().includes(key)) {
        throw new InvalidArgumentError(name, `a tensor "${key}"`, `tensors ${file.keys().join(', ') || '(none)'}`);
      }
      const raw = await file.rawTensor(key);
      if (raw.dtype === 'F64') return { shape: raw.shape, data: raw.data };
      if (raw.dtype === 'F32') return { shape: raw.shape, data: Float64Array.from(raw.data) };
      throw new DTypeError(`${name}:${key}`, 'dtype F64 or F32', raw.dtype);
    };
    const mu = await read('mu');
    const sigma = await read('sigma');
    const d = mu.shape[0] ?? 0;
    if (mu.shape.length !== 1 || sigma.shape.length !== 2 || sigma.shape[0] !== d || sigma.shape[1] !== d) {
      throw new ShapeError(name, 'mu [d] and sigma [d, d]', `mu [${mu.shape.join(', ')}], sigma [${sigma.shape.join(', ')}]`);
    }
    return { mu: mu.data, sigma: sigma.data, count: Number(file.metadata.count ?? 0) };
  } finally {
    await file.close();
  }
}
