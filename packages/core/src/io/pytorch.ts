import * as tf from '@tensorflow/tfjs-core';
import { type Entry, type FileEntry, Reader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import { InvalidArgumentError, NextDetailError } from '../errors.js';
import { bfloat16ToFloat32, float16ToFloat32, int64ToInt32 } from './dtypeConversion.js';
import { describeValue } from '../validate.js';
import { type ByteInput, type ByteSource, toByteSource } from './byteSource.js';
import { CheckpointFormatError } from './checkpointErrors.js';
import {
  describePickleValue,
  type PickleKey,
  type PickleValue,
  TORCH_ITEM_BYTES,
  type TorchDType,
  TorchTensorRef,
  type UnpickleLimits,
  unpickleStateDict,
} from './pickle.js';

/** Where a tensor lives: what `_rebuild_tensor_v2` recorded, before any bytes are read. */
export interface TorchTensorInfo {
  dtype: TorchDType;
  shape: number[];
  stride: number[];
  storageOffset: number;
  /** The storage's record in the archive: `<archive>/data/<storageKey>`. */
  storageKey: string;
  requiresGrad: boolean;
}

/**
 * Tensor values without tfjs, dense in row-major order whatever the stored strides: float16/bfloat16 widened to
 * float32 (exactly), int64 kept exact, bool as 0/1 bytes, the rest in their own type.
 */
export type TorchRawTensor =
  | { dtype: 'float32' | 'float16' | 'bfloat16'; shape: number[]; data: Float32Array }
  | { dtype: 'float64'; shape: number[]; data: Float64Array }
  | { dtype: 'int64'; shape: number[]; data: BigInt64Array }
  | { dtype: 'int32'; shape: number[]; data: Int32Array }
  | { dtype: 'int16'; shape: number[]; data: Int16Array }
  | { dtype: 'int8'; shape: number[]; data: Int8Array }
  | { dtype: 'uint8' | 'bool'; shape: number[]; data: Uint8Array };

export interface ReadPytorchOptions {
  /** Bounds on the pickle VM; the defaults fit any real state dict. */
  limits?: Partial<UnpickleLimits>;
}

/** One dict of tensors inside a checkpoint, e.g. FlexVAR's `['model']` or Lightning's `['state_dict']`. */
export interface PytorchStateDict {
  /** Keys leading from the checkpoint's root to this dict; `[]` for the root itself. */
  readonly path: readonly string[];
  /** The names of the dict's tensors, in file order; entries that are not tensors stay reachable through `root`. */
  keys(): string[];
  has(name: string): boolean;
  info(name: string): TorchTensorInfo;
  /**
   * float32/float16/bfloat16/float64 → float32, int64 → int32 (a ValueRangeError if a value does not fit),
   * bool → bool, other ints → int32.
   */
  tensor(name: string): Promise<tf.Tensor>;
  rawTensor(name: string): Promise<TorchRawTensor>;
}

/**
 * An opened `torch.save` checkpoint. The pickle has been run (on the restricted VM) and every tensor's layout checked
 * against the archive; storage bytes are read when a tensor is asked for, and only the range the view covers.
 * `keys`/`has`/`info`/`tensor`/`rawTensor` act on the default state dict (see `stateDict`); `info`, `tensor` and
 * `rawTensor` also take a TorchTensorRef found anywhere in `root`.
 */
export interface PytorchCheckpoint {
  /** The source's name (path, URL or "buffer"), as used in error messages. */
  readonly name: string;
  /** The unpickled object: dicts as Maps, tensors as TorchTensorRef handles. */
  readonly root: PickleValue;
  /**
   * The dict of tensors at `path` (a key of the root dict, or keys leading down to it). Without a path: the root when
   * it maps strings to tensors, else whichever one of `root['model']` and `root['state_dict']` does; a
   * CheckpointFormatError when neither rule finds one.
   */
  stateDict(path?: string | readonly string[]): PytorchStateDict;
  keys(): string[];
  has(name: string): boolean;
  info(name: string | TorchTensorRef): TorchTensorInfo;
  tensor(name: string | TorchTensorRef): Promise<tf.Tensor>;
  rawTensor(name: string | TorchTensorRef): Promise<TorchRawTensor>;
  /** Closes the ByteSource; reads after it reject. */
  close(): Promise<void>;
}

/**
 * Opens a PyTorch checkpoint written by `torch.save` (the zip format, PyTorch ≥ 1.6) from bytes, a Blob or a
 * ByteSource; paths on disk go through `readPytorchFile` in `@nextdetail/core/node`. Like
 * `torch.load(weights_only=True)` it can never run code: the pickle is interpreted by a VM that only knows tensors,
 * storages and plain containers (anything else is an UnsafePickleError). Malformed archives, truncated pickles and
 * storages too small for their tensors are CheckpointFormatErrors. On success the checkpoint owns the source; when
 * opening fails, a ByteSource passed in is left open.
 */
export async function readPytorch(input: ByteInput, options: ReadPytorchOptions = {}): Promise<PytorchCheckpoint> {
  const source = toByteSource(input);
  const archive = await openArchive(source);
  const pickleEntry = archive.record('data.pkl');
  const pickle = await archive.read(pickleEntry, 0, pickleEntry.uncompressedSize);
  const { root, tensors, names } = unpickleStateDict(pickle, source.name, options.limits);
  const littleEndian = await fileIsLittleEndian(archive);
  // Named tensors first, so that an error names the tensor (a Parameter's data is an unnamed copy of its layout).
  const ordered = [...tensors].sort((a, b) => Number(names.has(b)) - Number(names.has(a)));
  for (const [index, ref] of ordered.entries()) {
    const name = names.get(ref);
    checkLayout(archive, ref, name === undefined ? `unnamed tensor #${index}` : `tensor ${JSON.stringify(name)}`);
  }
  return openCheckpoint(archive, root, new Set(tensors), names, littleEndian);
}

// --- the zip container ---

const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_BYTES = 30;
const STORED = 0;
const DEFLATED = 8;

/** zip.js reads through this: it expects short reads at the end of the data, where a ByteSource rejects. */
class SourceReader extends Reader<ByteSource> {
  constructor(private readonly source: ByteSource) {
    super(source);
    this.size = source.size;
  }

  override readUint8Array(index: number, length: number): Promise<Uint8Array> {
    return this.source.read(index, Math.max(0, Math.min(length, this.source.size - index)));
  }
}

interface Archive {
  readonly source: ByteSource;
  /** The entry `<folder>/<name>`: torch puts every record in one top-level folder named after the file. */
  record(name: string): FileEntry;
  hasRecord(name: string): boolean;
  /** `length` bytes of an entry's uncompressed data from `start` (within its size), as a fresh, aligned copy. */
  read(entry: FileEntry, start: number, length: number): Promise<Uint8Array<ArrayBuffer>>;
  fail(reason: string): CheckpointFormatError;
}

async function openArchive(source: ByteSource): Promise<Archive> {
  const fail = (reason: string) => new CheckpointFormatError(source.name, reason);
  let entries: Entry[];
  try {
    // Central directory only: the zip is never read whole. zip.js is given no workers, so it runs anywhere.
    entries = await new ZipReader(new SourceReader(source), { useWebWorkers: false }).getEntries();
  } catch (err) {
    throw await notAZip(source, err);
  }
  const files = new Map<string, FileEntry>();
  for (const entry of entries) {
    if (entry.directory) continue;
    if (files.has(entry.filename)) throw fail(`zip entry ${JSON.stringify(entry.filename)}: expected one, got two`);
    files.set(entry.filename, entry);
  }
  const pickles = [...files.keys()].filter((f) => /^([^/]+\/)?data\.pkl$/.test(f));
  if (pickles.length !== 1) {
    throw fail(
      `expected one <folder>/data.pkl, as torch.save writes, got ${pickles.length === 0 ? 'none' : pickles.join(', ')} among ${files.size} zip entries`,
    );
  }
  const folder = pickles[0]!.slice(0, -'data.pkl'.length);
  const dataStarts = new Map<FileEntry, Promise<number>>();

  const record = (name: string): FileEntry => {
    const entry = files.get(folder + name);
    if (!entry) throw fail(`expected a zip entry ${JSON.stringify(folder + name)}, found none`);
    return entry;
  };

  // The local header repeats the name and has its own extra field, so the data start is known only after reading it.
  const dataStart = async (entry: FileEntry): Promise<number> => {
    if (entry.offset + LOCAL_HEADER_BYTES > source.size) {
      throw fail(`zip entry ${JSON.stringify(entry.filename)}: its local header at byte ${entry.offset} is past the end (${source.size} bytes)`);
    }
    const header = await source.read(entry.offset, LOCAL_HEADER_BYTES);
    const view = new DataView(header.buffer, header.byteOffset, LOCAL_HEADER_BYTES);
    if (view.getUint32(0, true) !== LOCAL_HEADER_SIGNATURE) {
      throw fail(`zip entry ${JSON.stringify(entry.filename)}: expected a local file header at byte ${entry.offset}, found other bytes`);
    }
    const start = entry.offset + LOCAL_HEADER_BYTES + view.getUint16(26, true) + view.getUint16(28, true);
    if (start + entry.compressedSize > source.size) {
      throw fail(
        `zip entry ${JSON.stringify(entry.filename)}: expected its ${entry.compressedSize} bytes at ${start} within the file's ${source.size} bytes (truncated)`,
      );
    }
    return start;
  };

  const read = async (entry: FileEntry, start: number, length: number): Promise<Uint8Array<ArrayBuffer>> => {
    const where = `zip entry ${JSON.stringify(entry.filename)}`;
    if (entry.encrypted) throw fail(`${where}: encrypted entries are not supported`);
    if (entry.compressionMethod === STORED) {
      if (entry.compressedSize !== entry.uncompressedSize) {
        throw fail(`${where}: a stored entry with different sizes (${entry.compressedSize} stored, ${entry.uncompressedSize} declared)`);
      }
      let start0 = dataStarts.get(entry);
      if (!start0) dataStarts.set(entry, (start0 = dataStart(entry)));
      return (await source.read((await start0) + start, length)).slice();
    }
    if (entry.compressionMethod === DEFLATED) {
      // torch never compresses, but a re-zipped checkpoint may be: inflate the whole entry, bounded by zip.js to
      // the declared size.
      let data: Uint8Array<ArrayBuffer>;
      try {
        data = await entry.getData(new Uint8ArrayWriter(), { useWebWorkers: false });
      } catch (err) {
        if (err instanceof NextDetailError) throw err;
        throw fail(`${where}: cannot inflate it (${err instanceof Error ? err.message : String(err)})`);
      }
      if (data.length !== entry.uncompressedSize) {
        throw fail(`${where}: expected ${entry.uncompressedSize} bytes once inflated, got ${data.length}`);
      }
      return data.slice(start, start + length);
    }
    throw fail(`${where}: compression method ${entry.compressionMethod}: expected 0 (stored, as torch writes) or 8 (deflate)`);
  };

  return { source, record, hasRecord: (name) => files.has(folder + name), read, fail };
}

async function notAZip(source: ByteSource, err: unknown): Promise<Error> {
  if (err instanceof NextDetailError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  // torch.save before 1.6 (or with _use_new_zipfile_serialization=False) wrote a bare pickle: protocol 2 opens 80 02.
  const head = source.size >= 2 ? await source.read(0, 2) : new Uint8Array(0);
  if (head[0] === 0x80 && head[1] === 0x02) {
    return new CheckpointFormatError(
      source.name,
      'a legacy torch.save file (PyTorch < 1.6, or _use_new_zipfile_serialization=False); expected the zip format: re-save it with torch.save in PyTorch ≥ 1.6',
    );
  }
  return new CheckpointFormatError(source.name, `expected a zip archive as torch.save writes (PyTorch ≥ 1.6), got one zip.js cannot read: ${reason}`);
}

/** torch ≥ 2.1 records the writer's byte order; older files were written on little-endian machines. */
async function fileIsLittleEndian(archive: Archive): Promise<boolean> {
  if (!archive.hasRecord('byteorder')) return true;
  const entry = archive.record('byteorder');
  if (entry.uncompressedSize > 16) {
    throw archive.fail(`byteorder: expected "little" or "big", got ${entry.uncompressedSize} bytes`);
  }
  const text = new TextDecoder().decode(await archive.read(entry, 0, entry.uncompressedSize));
  if (text !== 'little' && text !== 'big') {
    throw archive.fail(`byteorder: expected "little" or "big", got ${JSON.stringify(text)}`);
  }
  return text === 'little';
}

/** The view must fit in its storage, and the storage in its archive entry, before any read can be trusted. */
function checkLayout(archive: Archive, ref: TorchTensorRef, label: string): void {
  const { storage } = ref;
  const key = JSON.stringify(storage.key);
  const layout = `offset ${ref.storageOffset}, size (${ref.shape.join(', ')}), stride (${ref.stride.join(', ')})`;
  if (ref.storageOffset + ref.span > storage.numel) {
    throw archive.fail(
      `${label}: expected its view (${layout}) within storage ${key} of ${storage.numel} elements, got one reaching element ${ref.storageOffset + ref.span}`,
    );
  }
  const entry = archive.record(`data/${storage.key}`);
  const needed = storage.numel * TORCH_ITEM_BYTES[storage.dtype];
  if (entry.uncompressedSize < needed) {
    throw archive.fail(
      `${label}: storage ${key} declares ${storage.numel} ${storage.dtype} elements (${needed} bytes), got a zip entry of ${entry.uncompressedSize} bytes`,
    );
  }
}

// --- the checkpoint object ---

function openCheckpoint(
  archive: Archive,
  root: PickleValue,
  tensors: ReadonlySet<TorchTensorRef>,
  names: ReadonlyMap<TorchTensorRef, string>,
  littleEndian: boolean,
): PytorchCheckpoint {
  const file = archive.source.name;
  const swap = littleEndian !== HOST_IS_LITTLE_ENDIAN;
  let closed = false;
  let defaultDict: PytorchStateDict | undefined;

  const checkOpen = () => {
    if (closed) throw new InvalidArgumentError(file, 'an open checkpoint', 'a read after close()', 'ERR_CLOSED');
  };

  const readRaw = async (ref: TorchTensorRef): Promise<TorchRawTensor> => {
    const itemBytes = TORCH_ITEM_BYTES[ref.dtype];
    const entry = archive.record(`data/${ref.storage.key}`);
    // Only the elements the view spans are read: a slice of a large shared storage costs its own size.
    const bytes =
      ref.span === 0 ? new Uint8Array(0) : await archive.read(entry, ref.storageOffset * itemBytes, ref.span * itemBytes);
    const dense = isRowMajor(ref) ? bytes : gather(bytes, ref.shape, ref.stride, itemBytes);
    if (swap) swapBytes(dense, itemBytes);
    return decode(ref.dtype, [...ref.shape], dense.buffer);
  };

  const view = (path: readonly string[], dict: Map<PickleKey, PickleValue>): PytorchStateDict => {
    const where = path.length === 0 ? file : `${file} [${path.map((p) => JSON.stringify(p)).join('][')}]`;
    const lookup = (name: string): TorchTensorRef => {
      checkOpen();
      const value = dict.get(name);
      if (!(value instanceof TorchTensorRef)) {
        throw new InvalidArgumentError('name', `one of the tensor names in ${where}`, describeValue(name), 'ERR_UNKNOWN_TENSOR');
      }
      return value;
    };
    const label = (name: string) => `tensor ${JSON.stringify(name)} in ${where}`;
    return {
      path: Object.freeze([...path]),
      keys: () =>
        [...dict].filter(([k, v]) => typeof k === 'string' && v instanceof TorchTensorRef).map(([k]) => k as string),
      has: (name) => dict.get(name) instanceof TorchTensorRef,
      info: (name) => infoOf(lookup(name)),
      async tensor(name) {
        return toTensor(await readRaw(lookup(name)), label(name));
      },
      async rawTensor(name) {
        return readRaw(lookup(name));
      },
    };
  };

  const stateDict = (path?: string | readonly string[]): PytorchStateDict => {
    if (path === undefined) return (defaultDict ??= view(...defaultStateDict(root, archive)));
    const keys = typeof path === 'string' ? [path] : path;
    let node: PickleValue | undefined = root;
    for (const [depth, key] of keys.entries()) {
      if (!(node instanceof Map) || !(node.get(key) instanceof Map)) {
        const at = keys.slice(0, depth).map((k) => `[${JSON.stringify(k)}]`).join('') || 'the root';
        throw new InvalidArgumentError(
          'path',
          `keys leading to a dict in ${file}; ${at} holds ${describeKeys(node)}`,
          JSON.stringify(keys),
        );
      }
      node = node.get(key);
    }
    if (!(node instanceof Map)) {
      throw new InvalidArgumentError('path', `a path to a dict in ${file}`, describePickleValue(node));
    }
    return view(keys, node);
  };

  const resolve = (name: string | TorchTensorRef): TorchTensorRef | undefined => {
    if (typeof name === 'string') return undefined;
    checkOpen();
    if (!tensors.has(name)) {
      throw new InvalidArgumentError('tensor', `a TorchTensorRef from ${file}`, 'one from elsewhere');
    }
    return name;
  };

  return {
    name: file,
    root,
    stateDict,
    keys: () => stateDict().keys(),
    has: (name) => stateDict().has(name),
    info: (name) => {
      const ref = resolve(name);
      return ref ? infoOf(ref) : stateDict().info(name as string);
    },
    async tensor(name) {
      const ref = resolve(name);
      if (!ref) return stateDict().tensor(name as string);
      const known = names.get(ref);
      const label = known === undefined ? 'an unnamed tensor' : `tensor ${JSON.stringify(known)}`;
      return toTensor(await readRaw(ref), `${label} in ${file}`);
    },
    async rawTensor(name) {
      const ref = resolve(name);
      return ref ? readRaw(ref) : stateDict().rawTensor(name as string);
    },
    async close() {
      if (closed) return;
      closed = true;
      await archive.source.close();
    },
  };
}

const STATE_DICT_KEYS = ['model', 'state_dict'];

function defaultStateDict(root: PickleValue, archive: Archive): [string[], Map<PickleKey, PickleValue>] {
  if (isTensorDict(root)) return [[], root];
  const nested = root instanceof Map ? STATE_DICT_KEYS.filter((k) => isTensorDict(root.get(k))) : [];
  if (root instanceof Map && nested.length === 1) {
    return [[nested[0]!], root.get(nested[0]!) as Map<PickleKey, PickleValue>];
  }
  throw archive.fail(
    `expected a dict of tensors at the top level or under exactly one of "model" and "state_dict", got ${describeKeys(root)}; choose one with stateDict(path)`,
  );
}

function isTensorDict(value: PickleValue | undefined): value is Map<PickleKey, PickleValue> {
  if (!(value instanceof Map)) return false;
  for (const [k, v] of value) if (typeof k !== 'string' || !(v instanceof TorchTensorRef)) return false;
  return true;
}

function describeKeys(value: PickleValue | undefined): string {
  if (!(value instanceof Map)) return describePickleValue(value);
  const keys = [...value.keys()].slice(0, 8).map((k) => (typeof k === 'string' ? JSON.stringify(k) : String(k)));
  return `a dict with keys ${keys.join(', ')}${value.size > 8 ? `, … (${value.size} in all)` : ''}`;
}

function infoOf(ref: TorchTensorRef): TorchTensorInfo {
  return {
    dtype: ref.dtype,
    shape: [...ref.shape],
    stride: [...ref.stride],
    storageOffset: ref.storageOffset,
    storageKey: ref.storage.key,
    requiresGrad: ref.requiresGrad,
  };
}

// --- from storage bytes to values ---

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** True when the view's elements are its storage's, in order: the bytes read are then the tensor. */
function isRowMajor(ref: TorchTensorRef): boolean {
  let expected = 1;
  for (let axis = ref.shape.length - 1; axis >= 0; axis--) {
    const dim = ref.shape[axis]!;
    // Size-1 dims never step, so their stride is irrelevant (torch writes arbitrary ones after some views).
    if (dim !== 1 && ref.stride[axis] !== expected) return false;
    expected *= dim;
  }
  return true;
}

/**
 * Copies a strided view into row-major order. `bytes` starts at the view's first element; elements move as
 * unsigned words of their own width (two words for 8-byte types), so float bit patterns, NaN payloads included,
 * survive unchanged.
 */
function gather(
  bytes: Uint8Array<ArrayBuffer>,
  shape: readonly number[],
  stride: readonly number[],
  itemBytes: number,
): Uint8Array<ArrayBuffer> {
  const numel = shape.reduce((a, b) => a * b, 1);
  const words = itemBytes === 8 ? 2 : 1;
  const Word = itemBytes === 1 ? Uint8Array : itemBytes === 2 ? Uint16Array : Uint32Array;
  const from = new Word(bytes.buffer, bytes.byteOffset, bytes.byteLength / Word.BYTES_PER_ELEMENT);
  const out = new Word(numel * words);
  const index = new Array<number>(shape.length).fill(0);
  let at = 0;
  for (let i = 0; i < numel; i++) {
    for (let w = 0; w < words; w++) out[i * words + w] = from[at * words + w]!;
    // Odometer over the output index, moving `at` (the source element) by the strides.
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (++index[axis]! < shape[axis]!) {
        at += stride[axis]!;
        break;
      }
      at -= stride[axis]! * (shape[axis]! - 1);
      index[axis] = 0;
    }
  }
  return new Uint8Array(out.buffer);
}

function swapBytes(bytes: Uint8Array, itemBytes: number): void {
  for (let i = 0; i < bytes.length; i += itemBytes) {
    for (let a = i, b = i + itemBytes - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

function decode(dtype: TorchDType, shape: number[], buffer: ArrayBuffer): TorchRawTensor {
  switch (dtype) {
    case 'float32':
      return { dtype, shape, data: new Float32Array(buffer) };
    case 'float16':
      return { dtype, shape, data: float16ToFloat32(new Uint16Array(buffer)) };
    case 'bfloat16':
      return { dtype, shape, data: bfloat16ToFloat32(new Uint16Array(buffer)) };
    case 'float64':
      return { dtype, shape, data: new Float64Array(buffer) };
    case 'int64':
      return { dtype, shape, data: new BigInt64Array(buffer) };
    case 'int32':
      return { dtype, shape, data: new Int32Array(buffer) };
    case 'int16':
      return { dtype, shape, data: new Int16Array(buffer) };
    case 'int8':
      return { dtype, shape, data: new Int8Array(buffer) };
    case 'uint8':
      return { dtype, shape, data: new Uint8Array(buffer) };
    case 'bool': {
      // torch's bools are single bytes of 0 or 1; anything else would be undefined behaviour there.
      const data = new Uint8Array(buffer);
      for (let i = 0; i < data.length; i++) data[i] = data[i] === 0 ? 0 : 1;
      return { dtype, shape, data };
    }
  }
}

function toTensor(raw: TorchRawTensor, label: string): tf.Tensor {
  switch (raw.dtype) {
    case 'float32':
    case 'float16':
    case 'bfloat16':
      return tf.tensor(raw.data, raw.shape, 'float32');
    case 'float64':
      return tf.tensor(Float32Array.from(raw.data), raw.shape, 'float32');
    case 'int64':
      return tf.tensor(int64ToInt32(raw.data, label), raw.shape, 'int32');
    case 'int32':
      return tf.tensor(raw.data, raw.shape, 'int32');
    case 'int16':
    case 'int8':
    case 'uint8':
      return tf.tensor(Int32Array.from(raw.data), raw.shape, 'int32');
    case 'bool':
      return tf.tensor(raw.data, raw.shape, 'bool');
  }
}
