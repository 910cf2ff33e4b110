import { InvalidArgumentError } from '@nextdetail/core';

/** An array as numpy stores it in a `.npy` file (C order). */
export interface NpyArray {
  shape: number[];
  data: Float64Array | Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

const DESCR: Record<string, { ctor: { new (buffer: ArrayBuffer): NpyArray['data']; BYTES_PER_ELEMENT: number } }> = {
  '<f8': { ctor: Float64Array },
  '<f4': { ctor: Float32Array },
  '<i4': { ctor: Int32Array },
  '<i8': { ctor: BigInt64Array },
  '|u1': { ctor: Uint8Array },
};

function descrOf(data: NpyArray['data']): string {
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof BigInt64Array) return '<i8';
  return '|u1';
}

/**
 * Serialises an array in the `.npy` format version 1.0 (numpy/lib/format.py): magic, version, a little-endian header
 * length, a Python-literal header dict padded with spaces to a 64-byte boundary and ended by a newline, then the
 * C-order little-endian data.
 */
export function encodeNpy(array: NpyArray): Uint8Array {
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${descrOf(array.data)}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(header);
  const body = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const out = new Uint8Array(10 + headerBytes.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, headerBytes.length, true);
  out.set(headerBytes, 10);
  out.set(body, 10 + headerBytes.length);
  return out;
}

/** Parses a `.npy` file (versions 1–3, little-endian f8/f4/i4/i8/u1, C order). */
export function decodeNpy(bytes: Uint8Array, name = 'npy'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new InvalidArgumentError(name, 'a .npy file (magic "\\x93NUMPY")', 'other bytes');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const [headerLength, start] = major === 1 ? [view.getUint16(8, true), 10] : [view.getUint32(8, true), 12];
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new InvalidArgumentError(name, 'a .npy header with descr, fortran_order and shape', JSON.stringify(header.trim()));
  }
  const kind = DESCR[descr];
  if (!kind) throw new InvalidArgumentError(`${name} dtype`, `one of ${Object.keys(DESCR).join(', ')}`, descr);
  if (fortran === 'True') throw new InvalidArgumentError(`${name} fortran_order`, 'False (C order)', 'True');
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  const byteLength = count * kind.ctor.BYTES_PER_ELEMENT;
  if (bytes.length < offset + byteLength) {
    throw new InvalidArgumentError(name, `${byteLength} bytes of data for shape (${shape.join(', ')})`, `${bytes.length - offset}`);
  }
  const data = new kind.ctor(bytes.slice(offset, offset + byteLength).buffer);
  return { shape, data };
}
