import { InvalidArgumentError } from '../errors.js';

/**
 * Random-access bytes: what checkpoint readers parse. Reads are lazy, so a reader can pull one tensor of a
 * multi-gigabyte file without holding the rest. Browser-safe; files on disk come from `@nextdetail/core/node`.
 */
export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /** What it reads, for error messages (a path, a URL, "buffer"). */
  readonly name: string;
  /** Exactly `length` bytes starting at `offset`; rejects with a TruncatedDataError past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases file handles; reads after close reject. */
  close(): Promise<void>;
}

export class TruncatedDataError extends InvalidArgumentError {
  constructor(source: string, offset: number, length: number, size: number) {
    super(source, `at least ${offset + length} bytes (a read of ${length} at ${offset})`, `${size} bytes`, 'ERR_TRUNCATED');
  }
}

/** The checks every ByteSource makes before a read: open, integral, inside the data. */
export function checkRead(source: Pick<ByteSource, 'name' | 'size'>, offset: number, length: number, closed = false): void {
  if (closed) throw new InvalidArgumentError(source.name, 'an open byte source', 'a read after close()', 'ERR_CLOSED');
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new InvalidArgumentError(source.name, 'a read at a non-negative integer offset and length', `offset ${offset}, length ${length}`);
  }
  if (offset + length > source.size) throw new TruncatedDataError(source.name, offset, length, source.size);
}

/** Bytes already in memory. `read` returns views, not copies. */
export function bytesFromBuffer(data: ArrayBuffer | ArrayBufferView, name = 'buffer'): ByteSource {
  const bytes =
    data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const source: ByteSource = {
    size: bytes.byteLength,
    name,
    async read(offset, length) {
      checkRead(source, offset, length);
      return bytes.subarray(offset, offset + length);
    },
    async close() {},
  };
  return source;
}

/** A Blob or File (browser, or Node ≥ 20): reads slice it, so the whole file is never loaded at once. */
export function bytesFromBlob(blob: Blob, name = (blob as { name?: string }).name ?? 'blob'): ByteSource {
  const source: ByteSource = {
    size: blob.size,
    name,
    async read(offset, length) {
      checkRead(source, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
    async close() {},
  };
  return source;
}

/** Shared by the readers: a ByteSource wrapper for whatever a caller may pass. */
export type ByteInput = ByteSource | ArrayBuffer | ArrayBufferView | Blob;

export function isByteSource(x: unknown): x is ByteSource {
  return typeof x === 'object' && x !== null && typeof (x as ByteSource).read === 'function' && typeof (x as ByteSource).size === 'number';
}

/** Wraps in-memory inputs; URLs and paths are resolved by the callers that support them. */
export function toByteSource(input: ByteInput, argument = 'input'): ByteSource {
  if (isByteSource(input)) return input;
  if (input instanceof ArrayBuffer || ArrayBuffer.isView(input)) return bytesFromBuffer(input);
  if (typeof Blob !== 'undefined' && input instanceof Blob) return bytesFromBlob(input);
  throw new InvalidArgumentError(argument, 'an ArrayBuffer, a typed array, a Blob or a ByteSource', typeof input);
}
