import { open } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors.js';
import { type ByteSource, checkRead, TruncatedDataError } from './byteSource.js';
import { readSafetensors, type SafetensorsFile } from './safetensors.js';

/**
 * A file on disk as a ByteSource (Node only). Each read is a positioned read into a buffer of that length, so a
 * checkpoint is never loaded whole; `close()` releases the file handle.
 */
export async function bytesFromFile(path: string): Promise<ByteSource> {
  const handle = await open(path, 'r').catch((err: unknown) => {
    throw new InvalidArgumentError('path', 'a readable file', `${JSON.stringify(path)} (${messageOf(err)})`);
  });
  const stats = await handle.stat().catch(async (err: unknown) => {
    await handle.close();
    throw err;
  });
  if (!stats.isFile()) {
    await handle.close();
    throw new InvalidArgumentError('path', 'a regular file', `${JSON.stringify(path)} (not a regular file)`);
  }
  const size = stats.size;
  let closed = false;
  const source: ByteSource = {
    size,
    name: path,
    async read(offset, length) {
      checkRead(source, offset, length, closed);
      const out = new Uint8Array(length);
      // A positioned read may return fewer bytes than asked; zero means the file shrank after it was opened.
      for (let done = 0; done < length; ) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new TruncatedDataError(path, offset, length, offset + done);
        done += bytesRead;
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
  return source;
}

/**
 * Runs a checkpoint reader on a file opened with `bytesFromFile`. The reader's result owns the file from then on
 * (its `close()` closes it); when reading fails the file is closed here.
 */
export async function readFromFile<T>(path: string, read: (source: ByteSource) => Promise<T>): Promise<T> {
  const source = await bytesFromFile(path);
  try {
    return await read(source);
  } catch (err) {
    await source.close();
    throw err;
  }
}

/** `readSafetensors` for a path on disk; the returned file's `close()` closes it. */
export function readSafetensorsFile(path: string): Promise<SafetensorsFile> {
  return readFromFile(path, readSafetensors);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
