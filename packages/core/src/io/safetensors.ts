import * as tf from '@tensorflow/tfjs-core';
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors.js';
import { bfloat16ToFloat32, float16ToFloat32, int64ToInt32 } from './dtypeConversion.js';
import { describeShape, describeValue } from '../validate.js';
import { type ByteInput, type ByteSource, toByteSource } from './byteSource.js';
import { CheckpointFormatError } from './checkpointErrors.js';
import { bytesFromUrl, type UrlSourceOptions } from './urlSource.js';

// Typed arrays are read and written in host byte order; safetensors is little-endian, as is every platform tfjs runs on.

/** The reference implementation's limit; anything longer is refused before it is read. */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Every dtype the format defines, with its size in bytes. A file holding any of them opens (so its other tensors stay
 * readable); only SUPPORTED_DTYPES decode.
 */
const ITEM_BYTES = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  F16: 2, BF16: 2, I16: 2, U16: 2,
  F32: 4, I32: 4, U32: 4,
  F64: 8, I64: 8, U64: 8,
} as const;

export type SafetensorsDType = keyof typeof ITEM_BYTES;

const SUPPORTED_DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'U8', 'BOOL'] as const;

export interface SafetensorsTensorInfo {
  dtype: SafetensorsDType;
  shape: number[];
  byteLength: number;
}

/** Tensor values without tfjs: F64 and I64 kept exact, F16/BF16 widened to float32 (exactly), BOOL as 0/1 bytes. */
export type RawTensor =
  | { dtype: 'F64'; shape: number[]; data: Float64Array }
  | { dtype: 'F32' | 'F16' | 'BF16'; shape: number[]; data: Float32Array }
  | { dtype: 'I64'; shape: number[]; data: BigInt64Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array }
  | { dtype: 'U8' | 'BOOL'; shape: number[]; data: Uint8Array };

/** What `writeSafetensors` stores verbatim: each dtype's own storage, F16/BF16 as their 16-bit patterns. */
export type WritableRawTensor =
  | { dtype: 'F64'; shape: readonly number[]; data: Float64Array }
  | { dtype: 'F32'; shape: readonly number[]; data: Float32Array }
  | { dtype: 'F16' | 'BF16'; shape: readonly number[]; data: Uint16Array }
  | { dtype: 'I64'; shape: readonly number[]; data: BigInt64Array }
  | { dtype: 'I32'; shape: readonly number[]; data: Int32Array }
  | { dtype: 'U8' | 'BOOL'; shape: readonly number[]; data: Uint8Array };

/**
 * An opened safetensors file. Only the header has been read; each tensor's bytes are read when it is asked for.
 * The file owns its ByteSource: `close()` closes it.
 */
export interface SafetensorsFile {
  /** The source's name (path, URL or "buffer"), as used in error messages. */
  readonly name: string;
  /** `__metadata__`, or `{}` when the file has none. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensor names in the order their bytes appear in the file. */
  keys(): string[];
  info(name: string): SafetensorsTensorInfo;
  /**
   * F32/F16/BF16 → float32, F64 → float32 (rounded: tfjs has no float64; rawTensor keeps it exact), I64/I32/U8 → int32
   * (a ValueRangeError if an I64 value does not fit), BOOL → bool.
   */
  tensor(name: string): Promise<tf.Tensor>;
  /** The named tensors (default: all), read in as few ranges as possible; on failure none is left allocated. */
  tensors(names?: readonly string[]): Promise<Record<string, tf.Tensor>>;
  rawTensor(name: string): Promise<RawTensor>;
  close(): Promise<void>;
}

interface Entry extends SafetensorsTensorInfo {
  name: string;
  /** Offsets relative to the start of the data section. */
  begin: number;
  end: number;
}

/**
 * Opens a safetensors file from bytes, a Blob, a ByteSource or a URL (fetched with Range requests; paths on disk go
 * through `readSafetensorsFile` in `@nextdetail/core/node`). The header is validated completely here: dtypes,
 * shapes, offsets inside the data section, sizes that match the shapes, no overlaps, string metadata; a violation is a
 * CheckpointFormatError. When opening fails, a source created here is closed and a ByteSource passed in is left open.
 */
export async function readSafetensors(
  input: ByteInput | string | URL,
  options: UrlSourceOptions = {},
): Promise<SafetensorsFile> {
  const fromUrl = typeof input === 'string' || input instanceof URL;
  const source = fromUrl ? await bytesFromUrl(input, options) : toByteSource(input);
  try {
    const { metadata, entries, dataStart } = await readHeader(source);
    return openFile(source, metadata, entries, dataStart);
  } catch (err) {
    if (fromUrl) await source.close();
    throw err;
  }
}

async function readHeader(
  source: ByteSource,
): Promise<{ metadata: Record<string, string>; entries: Entry[]; dataStart: number }> {
  const fail = (reason: string) => new CheckpointFormatError(source.name, reason);
  if (source.size < 8) throw fail(`expected at least 8 bytes (the header length), got ${source.size}`);

  const lengthBytes = await source.read(0, 8);
  const declared = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
  const limit = Math.min(MAX_HEADER_BYTES, source.size - 8);
  if (declared > BigInt(limit)) {
    throw fail(
      `header length: expected at most ${limit} (the bytes after the length field, capped at ${MAX_HEADER_BYTES}), got ${declared}`,
    );
  }
  const headerLength = Number(declared);
  const headerBytes = await source.read(8, headerLength);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw fail(`header: expected UTF-8 JSON, got ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isObject(header)) throw fail(`header: expected a JSON object, got ${describeJson(header)}`);

  const dataStart = 8 + headerLength;
  const dataSize = source.size - dataStart;
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') metadata = checkMetadata(value, fail);
    else entries.push(checkEntry(name, value, dataSize, fail));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkNoOverlap(entries, fail);
  return { metadata, entries, dataStart };
}

function checkMetadata(value: unknown, fail: (reason: string) => Error): Record<string, string> {
  if (!isObject(value)) throw fail(`__metadata__: expected an object of strings, got ${describeJson(value)}`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw fail(`__metadata__[${JSON.stringify(key)}]: expected a string, got ${describeJson(v)}`);
  }
  // fromEntries defines keys such as "__proto__" as plain properties instead of setting the prototype.
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function checkEntry(name: string, value: unknown, dataSize: number, fail: (reason: string) => Error): Entry {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!isObject(value)) throw fail(`${where}: expected {dtype, shape, data_offsets}, got ${describeJson(value)}`);
  const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };

  if (typeof dtype !== 'string' || !Object.hasOwn(ITEM_BYTES, dtype)) {
    throw fail(`${where}: dtype: expected one of ${Object.keys(ITEM_BYTES).join(', ')}, got ${describeJson(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw fail(`${where}: shape: expected an array of non-negative integers, got ${describeJson(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw fail(`${where}: data_offsets: expected [begin, end] of non-negative integers, got ${describeJson(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataSize) {
    const expected = `begin ≤ end ≤ ${dataSize} (the data section's size)`;
    throw fail(`${where}: data_offsets: expected ${expected}, got [${begin}, ${end}]`);
  }
  const itemBytes = ITEM_BYTES[dtype as SafetensorsDType];
  // Products are only compared, never used to allocate, and stop growing once past what the file could hold.
  const count = elementCount(shape as number[], dataSize);
  if (count * itemBytes !== end - begin) {
    const needed = Number.isFinite(count) ? `${count * itemBytes}` : `more than the data section's ${dataSize}`;
    const layout = `shape ${describeJson(shape)} of ${dtype}`;
    throw fail(`${where}: expected data_offsets spanning ${needed} bytes (${layout}), got [${begin}, ${end}] (${end - begin} bytes)`);
  }
  // `+ 0` turns a JSON -0 into 0.
  const dims = (shape as number[]).map((d) => d + 0);
  return { name, dtype: dtype as SafetensorsDType, shape: dims, byteLength: end - begin, begin, end };
}

/** The number of elements, or Infinity once it passes `limit`. */
function elementCount(shape: readonly number[], limit: number): number {
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const dim of shape) {
    count *= dim;
    if (count > limit) return Infinity;
  }
  return count;
}

/** Empty tensors occupy no bytes, so they overlap nothing. `entries` is sorted by `begin`. */
function checkNoOverlap(entries: readonly Entry[], fail: (reason: string) => Error): void {
  let last: Entry | undefined;
  for (const entry of entries) {
    if (entry.begin === entry.end) continue;
    if (last && entry.begin < last.end) {
      const first = `${JSON.stringify(last.name)} [${last.begin}, ${last.end}]`;
      const second = `${JSON.stringify(entry.name)} [${entry.begin}, ${entry.end}]`;
      throw fail(`tensors ${first} and ${second}: expected disjoint data_offsets, got overlapping ones`);
    }
    if (!last || entry.end > last.end) last = entry;
  }
}

/** Reads in `tensors()` are merged across gaps up to this size, and up to CHUNK_BYTES per read. */
const GAP_BYTES = 1 << 16;
const CHUNK_BYTES = 1 << 26;

function openFile(
  source: ByteSource,
  metadata: Record<string, string>,
  entries: readonly Entry[],
  dataStart: number,
): SafetensorsFile {
  const byName = new Map(entries.map((e) => [e.name, e]));
  let closed = false;

  const lookup = (name: string): Entry => {
    const entry = byName.get(name);
    if (!entry) {
      throw new InvalidArgumentError('name', `one of the ${byName.size} tensor names in ${source.name}`, describeValue(name));
    }
    return entry;
  };
  // The header stays readable after close(); only data reads are refused, whatever the source would do.
  const readable = (name: string): Entry => {
    if (closed) throw new InvalidArgumentError(source.name, 'an open safetensors file', 'a read after close()', 'ERR_CLOSED');
    return lookup(name);
  };
  const bytesOf = (entry: Entry) => source.read(dataStart + entry.begin, entry.byteLength);

  return {
    name: source.name,
    metadata,
    keys: () => entries.map((e) => e.name),
    info(name) {
      const { dtype, shape, byteLength } = lookup(name);
      return { dtype, shape: [...shape], byteLength };
    },
    async tensor(name) {
      const entry = readable(name);
      return toTensor(entry, await bytesOf(entry), source.name);
    },
    async rawTensor(name) {
      const entry = readable(name);
      return toRaw(entry, await bytesOf(entry), source.name);
    },
    async tensors(names = entries.map((e) => e.name)) {
      const wanted = [...new Set(names)].map(readable).sort((a, b) => a.begin - b.begin);
      const out: Array<[string, tf.Tensor]> = [];
      try {
        for (const chunk of chunks(wanted)) {
          const bytes = await source.read(dataStart + chunk.begin, chunk.end - chunk.begin);
          for (const e of chunk.entries) {
            out.push([e.name, toTensor(e, bytes.subarray(e.begin - chunk.begin, e.end - chunk.begin), source.name)]);
          }
        }
      } catch (err) {
        for (const [, t] of out) t.dispose();
        throw err;
      }
      return Object.fromEntries(out);
    },
    async close() {
      if (closed) return;
      closed = true;
      await source.close();
    },
  };
}

/** Groups entries sorted by `begin` into ranges read at once: one request per range matters over HTTP. */
function chunks(entries: readonly Entry[]): Array<{ begin: number; end: number; entries: Entry[] }> {
  const out: Array<{ begin: number; end: number; entries: Entry[] }> = [];
  for (const entry of entries) {
    const current = out[out.length - 1];
    if (current && entry.begin - current.end <= GAP_BYTES && entry.end - current.begin <= CHUNK_BYTES) {
      current.entries.push(entry);
      current.end = Math.max(current.end, entry.end);
    } else {
      out.push({ begin: entry.begin, end: entry.end, entries: [entry] });
    }
  }
  return out;
}

function toRaw(entry: Entry, bytes: Uint8Array, file: string): RawTensor {
  const shape = [...entry.shape];
  const dtype = entry.dtype;
  switch (dtype) {
    case 'F64':
      return { dtype, shape, data: new Float64Array(copy(bytes)) };
    case 'F32':
    case 'F16':
    case 'BF16':
      return { dtype, shape, data: floats(dtype, bytes) };
    case 'I64':
      return { dtype, shape, data: new BigInt64Array(copy(bytes)) };
    case 'I32':
      return { dtype, shape, data: new Int32Array(copy(bytes)) };
    case 'U8':
      return { dtype, shape, data: bytes.slice() };
    case 'BOOL':
      return { dtype, shape, data: bools(bytes) };
    default:
      throw unsupported(entry, file);
  }
}

function toTensor(entry: Entry, bytes: Uint8Array, file: string): tf.Tensor {
  const { dtype, shape } = entry;
  switch (dtype) {
    case 'F64':
      return tf.tensor(Float32Array.from(new Float64Array(copy(bytes))), shape, 'float32');
    case 'F32':
    case 'F16':
    case 'BF16':
      return tf.tensor(floats(dtype, bytes), shape, 'float32');
    case 'I64':
      return tf.tensor(int64ToInt32(new BigInt64Array(copy(bytes)), `tensor ${JSON.stringify(entry.name)} in ${file}`, 'I64'), shape, 'int32');
    case 'I32':
      return tf.tensor(new Int32Array(copy(bytes)), shape, 'int32');
    case 'U8':
      return tf.tensor(Int32Array.from(bytes), shape, 'int32');
    case 'BOOL':
      return tf.tensor(bools(bytes), shape, 'bool');
    default:
      throw unsupported(entry, file);
  }
}

function unsupported(entry: Entry, file: string): DTypeError {
  return new DTypeError(`tensor ${JSON.stringify(entry.name)} in ${file}`, `one of ${SUPPORTED_DTYPES.join(', ')}`, entry.dtype);
}

/** A fresh, aligned buffer: views into a caller's buffer may sit at any offset, and tensors must not alias it. */
function copy(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

function bools(bytes: Uint8Array): Uint8Array {
  return bytes.map((b) => (b === 0 ? 0 : 1));
}

function floats(dtype: 'F32' | 'F16' | 'BF16', bytes: Uint8Array): Float32Array {
  if (dtype === 'F32') return new Float32Array(copy(bytes));
  const halves = new Uint16Array(copy(bytes));
  return dtype === 'BF16' ? bfloat16ToFloat32(halves) : float16ToFloat32(halves);
}


function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** A short rendering of a parsed JSON value for error messages (the header is untrusted and may be huge). */
function describeJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const RAW_ARRAYS = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
} as const;

const TENSOR_DTYPES: Partial<Record<tf.DataType, SafetensorsDType>> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

/**
 * Serialises tensors as a safetensors file: tensors in sorted name order, the header padded with spaces to a multiple
 * of 8 bytes. tf.Tensors map float32 → F32, int32 → I32, bool → BOOL (read with `await data()`, hence async: WebGPU
 * has no synchronous read); raw `{dtype, shape, data}` entries are stored as given (F64 from a Float64Array, I64 from a
 * BigInt64Array, F16/BF16 from their bit patterns). Inputs are not disposed.
 */
export async function writeSafetensors(
  tensors: Record<string, tf.Tensor | WritableRawTensor>,
  metadata?: Record<string, string>,
): Promise<Uint8Array> {
  if (!isObject(tensors) || tensors instanceof tf.Tensor) {
    throw new InvalidArgumentError('tensors', 'an object of tensors by name', describeValue(tensors));
  }
  if (metadata !== undefined) {
    if (!isObject(metadata)) throw new InvalidArgumentError('metadata', 'an object of strings', describeValue(metadata));
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') {
        throw new InvalidArgumentError(`metadata[${JSON.stringify(key)}]`, 'a string', describeValue(value));
      }
    }
  }

  const parts: Array<{ name: string; dtype: SafetensorsDType; shape: number[]; bytes: Uint8Array }> = [];
  for (const name of Object.keys(tensors).sort()) {
    const argument = `tensors[${JSON.stringify(name)}]`;
    if (name === '__metadata__') throw new InvalidArgumentError(argument, 'a tensor name other than "__metadata__" (reserved)', name);
    parts.push({ name, ...(await storedBytes(tensors[name], argument)) });
  }

  let offset = 0;
  const header = Object.fromEntries([
    ...(metadata === undefined ? [] : [['__metadata__', Object.fromEntries(Object.entries(metadata))]]),
    ...parts.map(({ name, dtype, shape, bytes }) => {
      const begin = offset;
      offset += bytes.byteLength;
      return [name, { dtype, shape, data_offsets: [begin, offset] }];
    }),
  ]);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.byteLength / 8) * 8;

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLength);
  let position = 8 + headerLength;
  for (const { bytes } of parts) {
    out.set(bytes, position);
    position += bytes.byteLength;
  }
  return out;
}

async function storedBytes(
  value: unknown,
  argument: string,
): Promise<{ dtype: SafetensorsDType; shape: number[]; bytes: Uint8Array }> {
  if (value instanceof tf.Tensor) {
    if (value.isDisposed) throw new InvalidArgumentError(argument, 'a live tf.Tensor', 'a disposed tensor');
    const dtype = TENSOR_DTYPES[value.dtype];
    if (!dtype) throw new DTypeError(argument, 'dtype float32, int32 or bool', `dtype ${value.dtype}`);
    const data = (await value.data()) as Float32Array | Int32Array | Uint8Array;
    return { dtype, shape: [...value.shape], bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }
  if (!isObject(value) || typeof value.dtype !== 'string' || !Object.hasOwn(RAW_ARRAYS, value.dtype)) {
    throw new InvalidArgumentError(
      argument,
      `a tf.Tensor or {dtype, shape, data} with dtype one of ${Object.keys(RAW_ARRAYS).join(', ')}`,
      isObject(value) ? `dtype ${describeValue(value.dtype)}` : describeValue(value),
    );
  }
  const dtype = value.dtype as keyof typeof RAW_ARRAYS;
  const { shape, data } = value;
  const expectedArray = RAW_ARRAYS[dtype];
  if (!(data instanceof expectedArray)) {
    throw new DTypeError(`${argument}.data`, `a ${expectedArray.name} for ${dtype}`, describeValue(data));
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new ShapeError(`${argument}.shape`, 'an array of non-negative integers', describeValue(shape));
  }
  const count = shape.reduce((a: number, b: number) => a * b, 1);
  if (count !== data.length) {
    throw new ShapeError(argument, `${count} values for shape ${describeShape(shape)}`, `${data.length} values`);
  }
  const stored = dtype === 'BOOL' ? bools(data as Uint8Array) : data;
  return { dtype, shape: [...shape], bytes: new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength) };
}
