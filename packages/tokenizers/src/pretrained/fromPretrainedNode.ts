import { fileURLToPath } from 'node:url';
import { bytesFromFile } from '@nextdetail/core/node';
import { type FromPretrained, fromPretrained as fromPretrainedSource, type PretrainedOptions } from './fromPretrained.js';
import type { PretrainedSource } from './openCheckpoint.js';

/** URLs a file path cannot be mistaken for: a scheme of two or more letters (a Windows drive letter has one). */
const REMOTE_URL = /^(https?|blob|data):/i;

/**
 * `fromPretrained` (see the main entry) that also opens files: a string is a URL when it starts with http:, https:,
 * blob: or data:, a `file:` URL or URL object names a file, and any other string is a path on disk. Files are read
 * lazily (each tensor's range when it is loaded) and closed once read.
 */
export const fromPretrained = (async (source: PretrainedSource, options: PretrainedOptions) => {
  const path = filePath(source);
  if (path === undefined) return fromPretrainedSource(source, options);
  const bytes = await bytesFromFile(path);
  try {
    return await fromPretrainedSource(bytes, options);
  } catch (err) {
    await bytes.close();
    throw err;
  }
}) as FromPretrained;

function filePath(source: PretrainedSource): string | undefined {
  if (source instanceof URL) return source.protocol === 'file:' ? fileURLToPath(source) : undefined;
  if (typeof source !== 'string' || REMOTE_URL.test(source)) return undefined;
  return source.startsWith('file:') ? fileURLToPath(source) : source;
}
