import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@nextdetail/core';

/** An IDX array (the MNIST file format): unsigned bytes with their dimensions. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Reads an IDX file (http://yann.lecun.com/exdb/mnist/ "FILE FORMATS"): two zero bytes, a type byte (0x08 = uint8,
 * the only type the MNIST-style datasets use), the rank, big-endian uint32 dimensions, then the data. `.gz` files are
 * inflated first.
 */
export function readIdx(path: string): IdxArray {
  const raw = readFileSync(path);
  const bytes = path.endsWith('.gz') ? gunzipSync(raw) : raw;
  return parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

export function parseIdx(bytes: Uint8Array, name = 'idx data'): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new InvalidArgumentError(name, 'an IDX file (starting with two zero bytes)', `${bytes.length} bytes`);
  }
  if (bytes[2] !== 0x08) {
    throw new InvalidArgumentError(name, 'IDX type 0x08 (unsigned bytes)', `type 0x${bytes[2]!.toString(16)}`);
  }
  const rank = bytes[3]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * rank) throw new InvalidArgumentError(name, `${rank} dimensions`, 'a truncated header');
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * rank;
  if (bytes.length - start !== size) {
    throw new InvalidArgumentError(name, `${size} data bytes for dimensions [${dims.join(', ')}]`, `${bytes.length - start}`);
  }
  return { dims, data: bytes.subarray(start) };
}
