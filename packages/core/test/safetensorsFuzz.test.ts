import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NextDetailError } from '../src/errors.js';
import { type ByteSource, bytesFromBuffer } from '../src/io/byteSource.js';
import { CheckpointFormatError } from '../src/io/checkpointErrors.js';
import { type RawTensor, readSafetensors, type WritableRawTensor, writeSafetensors } from '../src/io/safetensors.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

const RUNS = { seed: 42, numRuns: 300 };
const TIME_LIMIT_MS = 10_000;

const ITEM_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, F16: 2, BF16: 2, I16: 2, U16: 2, F32: 4, I32: 4, U32: 4, F64: 8, I64: 8, U64: 8,
};

const BASE_TENSORS: Record<string, WritableRawTensor> = {
  w: { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
  idx: { dtype: 'I64', shape: [4], data: BigInt64Array.from([0n, 3n, -7n, 9n]) },
  mask: { dtype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
  half: { dtype: 'F16', shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) },
  bf: { dtype: 'BF16', shape: [2], data: Uint16Array.from([0x3f80, 0x4000]) },
  u: { dtype: 'U8', shape: [5], data: Uint8Array.from([1, 2, 3, 4, 255]) },
  i: { dtype: 'I32', shape: [2, 1], data: Int32Array.from([-1, 1]) },
  empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  s: { dtype: 'F32', shape: [], data: Float32Array.from([0.5]) },
};
const BASE = await writeSafetensors(BASE_TENSORS, { kind: 'var_vqvae', config_json: '{"VQVAE": {"ch": 32}}' });
const BASE_HEADER_LENGTH = Number(new DataView(BASE.buffer).getBigUint64(0, true));
const BASE_HEADER = JSON.parse(new TextDecoder().decode(BASE.subarray(8, 8 + BASE_HEADER_LENGTH))) as Record<string, unknown>;
const BASE_DATA = BASE.subarray(8 + BASE_HEADER_LENGTH);
const NAMES = Object.keys(BASE_TENSORS);

/** A file with `header` (an object, or its text as given) in front of `data`. */
function fileWith(header: unknown, data: Uint8Array = BASE_DATA): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function withLength(bytes: Uint8Array, declared: bigint): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setBigUint64(0, declared, true);
  return out;
}

/** Sets own properties, so that a key such as "__proto__" is data, as JSON.parse makes it. */
function defineKey(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A ByteSource that records reads outside the file: validation must stop them before they are asked for. */
function guarded(source: ByteSource): { source: ByteSource; violations: string[] } {
  const violations: string[] = [];
  return {
    violations,
    source: {
      size: source.size,
      name: source.name,
      read(offset, length) {
        if (!(offset >= 0 && length >= 0 && offset + length <= source.size)) {
          violations.push(`read(${offset}, ${length}) of a ${source.size}-byte source`);
        }
        return source.read(offset, length);
      },
      close: () => source.close(),
    },
  };
}

function typedOnly(err: unknown): undefined {
  if (err instanceof NextDetailError) return undefined;
  throw err;
}

/**
 * Opens `bytes`: either a CheckpointFormatError, or a file that is consistent with itself — sizes that match shapes,
 * tensors that fit the data section without overlapping, every tensor readable (or refused with a typed error),
 * nothing leaked and no read outside the file.
 */
async function checkOutcome(bytes: Uint8Array): Promise<void> {
  const { source, violations } = guarded(bytesFromBuffer(bytes));
  await expectNoLeaks(async () => {
    const file = await readSafetensors(source).catch((err: unknown) => {
      if (err instanceof CheckpointFormatError) return undefined;
      throw err;
    });
    if (!file) return;
    const keys = file.keys();
    expect(new Set(keys).size).toBe(keys.length);
    let total = 0;
    for (const name of keys) {
      const info = file.info(name);
      const count = info.shape.reduce((a, b) => a * b, 1);
      expect(info.byteLength).toBe(count * ITEM_BYTES[info.dtype]!);
      total += info.byteLength;
      const raw = await file.rawTensor(name).catch(typedOnly);
      if (raw) expect([raw.shape, raw.data.length]).toEqual([info.shape, count]);
      const t = await file.tensor(name).catch(typedOnly);
      if (t) {
        expect([t.shape, t.size]).toEqual([info.shape, count]);
        t.dispose();
      }
    }
    expect(total).toBeLessThanOrEqual(bytes.length);
    for (const value of Object.values(file.metadata)) expect(typeof value).toBe('string');
    const all = await file.tensors().catch(typedOnly);
    if (all) tf.dispose(Object.values(all));
    await file.close();
  });
  expect(violations).toEqual([]);
}

const byte = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(...[...'0123456789-.eE[]{},": '].map((c) => c.charCodeAt(0))),
);

const dataSize = BASE_DATA.length;
const number = fc.oneof(
  fc.integer({ min: -2, max: dataSize + 16 }),
  fc.constantFrom(2 ** 53, 2 ** 64, 1.5, -1, -0, 1e308, dataSize, dataSize + 1, 0.5),
  fc.double(),
);
const dimension = fc.oneof(fc.integer({ min: -3, max: 12 }), fc.constantFrom(2 ** 31, 2 ** 53, 2 ** 63, 1e308, 0.5, -0), fc.double());
const tensorName = fc.constantFrom(...NAMES);

type Mutation = (header: Record<string, unknown>) => void;
/** The entry to edit; one an earlier edit replaced with a non-object is edited as a detached stand-in. */
function entryOf(header: Record<string, unknown>, name: string): Record<string, unknown> {
  const entry = header[name];
  return typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {};
}

/** Edits that keep the file valid, so that successful parses get checked too: a dtype of the same width, a shape with
 * the same element count. */
const validMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ name: tensorName, pick: fc.nat() }).map(
    ({ name, pick }): Mutation =>
      (h) => {
        const entry = entryOf(h, name);
        const width = ITEM_BYTES[entry.dtype as string];
        const same = Object.keys(ITEM_BYTES).filter((d) => ITEM_BYTES[d] === width);
        if (same.length) entry.dtype = same[pick % same.length];
      },
  ),
  fc.record({ name: tensorName, form: fc.constantFrom('flat', 'lead', 'trail') }).map(
    ({ name, form }): Mutation =>
      (h) => {
        const entry = entryOf(h, name);
        if (!Array.isArray(entry.shape)) return;
        const shape = entry.shape as number[];
        entry.shape = form === 'flat' ? [shape.reduce((a, b) => a * b, 1)] : form === 'lead' ? [1, ...shape] : [...shape, 1];
      },
  ),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    name: tensorName,
    dtype: fc.oneof(fc.constantFrom('U64', 'I8', 'f32', '', 'F32 ', 'toString', '__proto__', 'constructor'), fc.string(), fc.anything()),
  }).map(({ name, dtype }): Mutation => (h) => void (entryOf(h, name).dtype = dtype)),
  fc.record({ name: tensorName, shape: fc.oneof(fc.array(dimension, { maxLength: 5 }), fc.anything()) })
    .map(({ name, shape }): Mutation => (h) => void (entryOf(h, name).shape = shape)),
  fc.record({ name: tensorName, offsets: fc.oneof(fc.tuple(number, number), fc.array(number, { maxLength: 3 }), fc.anything()) })
    .map(({ name, offsets }): Mutation => (h) => void (entryOf(h, name).data_offsets = offsets)),
  // Moves a tensor onto another's bytes, give or take a few.
  fc.record({ name: tensorName, onto: tensorName, shift: fc.integer({ min: -8, max: 8 }) }).map(
    ({ name, onto, shift }): Mutation =>
      (h) => {
        const [begin, end] = Array.isArray(entryOf(h, name).data_offsets) ? (entryOf(h, name).data_offsets as unknown[]) : [];
        const [target] = Array.isArray(entryOf(h, onto).data_offsets) ? (entryOf(h, onto).data_offsets as unknown[]) : [];
        if ([begin, end, target].every((x) => typeof x === 'number')) {
          const start = (target as number) + shift;
          entryOf(h, name).data_offsets = [start, start + (end as number) - (begin as number)];
        }
      },
  ),
  fc.record({ key: fc.constantFrom('kind', 'config_json', '__proto__', 'x'), value: fc.anything() })
    .map(({ key, value }): Mutation => (h) => {
      if (typeof h.__metadata__ === 'object' && h.__metadata__ !== null) defineKey(h.__metadata__, key, value);
    }),
  fc.anything().map((value): Mutation => (h) => void (h.__metadata__ = value)),
  fc.record({
    name: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'toString', 'w')),
    value: fc.oneof(
      fc.anything(),
      fc.record({
        dtype: fc.constantFrom('F32', 'U8', 'I64', 'BF16'),
        shape: fc.array(fc.nat(6), { maxLength: 3 }),
        data_offsets: fc.tuple(fc.nat(dataSize), fc.nat(dataSize)),
      }),
    ),
  }).map(({ name, value }): Mutation => (h) => defineKey(h, name, value)),
  fc.record({ name: tensorName, field: fc.constantFrom('dtype', 'shape', 'data_offsets') })
    .map(({ name, field }): Mutation => (h) => void delete entryOf(h, name)[field]),
  validMutation,
);

describe(`safetensors fuzzing [${backendName()}]`, () => {
  it('the unmutated base file opens', async () => {
    const file = await readSafetensors(BASE);
    expect(file.keys()).toHaveLength(NAMES.length);
    await file.close();
    await checkOutcome(BASE);
  });

  it('truncation at any byte', async () => {
    await fc.assert(fc.asyncProperty(fc.nat({ max: BASE.length }), (n) => checkOutcome(BASE.subarray(0, n))), RUNS);
  }, TIME_LIMIT_MS);

  it('overwritten bytes in the header length', async () => {
    const edits = fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(edits, async (list) => {
        const bytes = BASE.slice();
        for (const [at, value] of list) bytes[at] = value;
        await checkOutcome(bytes);
      }),
      RUNS,
    );
  }, TIME_LIMIT_MS);

  it('declared header lengths from 0 to 2^64 − 1', async () => {
    const declared = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.bigInt({ min: 0n, max: BigInt(BASE.length) }),
      fc.constantFrom(2n ** 63n, 2n ** 64n - 1n, 100_000_001n, BigInt(BASE.length - 8), BigInt(BASE.length - 7), 0n),
    );
    await fc.assert(fc.asyncProperty(declared, (n) => checkOutcome(withLength(BASE, n))), RUNS);
  }, TIME_LIMIT_MS);

  it('overwritten bytes in the header JSON', async () => {
    const edits = fc.array(fc.tuple(fc.integer({ min: 8, max: 8 + BASE_HEADER_LENGTH - 1 }), byte), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(edits, async (list) => {
        const bytes = BASE.slice();
        for (const [at, value] of list) bytes[at] = value;
        await checkOutcome(bytes);
      }),
      RUNS,
    );
  }, TIME_LIMIT_MS);

  it('structural header edits: dtypes, shapes, offsets, overlaps, metadata, extra and missing fields', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const header = structuredClone(BASE_HEADER);
        for (const mutate of mutations) mutate(header);
        await checkOutcome(fileWith(header));
      }),
      RUNS,
    );
  }, TIME_LIMIT_MS);

  it('edits that keep the layout valid: other dtypes of the same width, reshapes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(validMutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        const header = structuredClone(BASE_HEADER);
        for (const mutate of mutations) mutate(header);
        await checkOutcome(fileWith(header));
      }),
      RUNS,
    );
  }, TIME_LIMIT_MS);

  it('arbitrary headers and data', async () => {
    const header = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((b) => new TextDecoder().decode(b)),
      fc.json(),
      fc.dictionary(fc.string(), fc.anything()),
    );
    await fc.assert(fc.asyncProperty(header, fc.uint8Array({ maxLength: 64 }), (h, data) => checkOutcome(fileWith(h, data))), RUNS);
  }, TIME_LIMIT_MS);

  it('refuses declared sizes beyond the file or the limit without reading them', async () => {
    for (const [size, declared] of [
      [2 ** 40, 100_000_001n],
      [2 ** 52, 2n ** 62n],
      [64, 57n],
    ] as const) {
      const reads: Array<[number, number]> = [];
      const source: ByteSource = {
        size,
        name: 'huge',
        read: async (offset, length) => {
          reads.push([offset, length]);
          const head = new Uint8Array(8);
          new DataView(head.buffer).setBigUint64(0, declared, true);
          return head;
        },
        close: async () => {},
      };
      await expect(readSafetensors(source)).rejects.toThrow(CheckpointFormatError);
      expect(reads).toEqual([[0, 8]]);
    }
  });
});

describe(`safetensors hostile headers [${backendName()}]`, () => {
  // {"\xff\xfe"} padded: bytes that are not UTF-8 cannot come from a JS string.
  const notUtf8 = new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x20, 0x20]);
  const tensor = (entry: Record<string, unknown>) => ({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...entry } });
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['a file shorter than the length field', new Uint8Array(7), /^expected at least 8 bytes \(the header length\), got 7$/],
    ['header length 2^63', withLength(fileWith({}, new Uint8Array(0)), 2n ** 63n), /^header length: expected at most 2 .*, got 9223372036854775808$/],
    ['header length one past the end', withLength(fileWith({}, new Uint8Array(4)), 7n), /^header length: expected at most 6 /],
    ['a header that is not UTF-8', notUtf8, /^header: expected UTF-8 JSON, got /],
    ['a header that is not JSON', fileWith('nope'), /^header: expected UTF-8 JSON, got /],
    ['a JSON array header', fileWith([1, 2]), /^header: expected a JSON object, got \[1,2\]$/],
    ['an entry that is not an object', fileWith({ t: 5 }), /^tensor "t": expected \{dtype, shape, data_offsets\}, got 5$/],
    ['an unknown dtype', fileWith(tensor({ dtype: 'F31' })), /^tensor "t": dtype: expected one of BOOL, .*, got "F31"$/],
    ['a dtype named like an Object method', fileWith(tensor({ dtype: 'toString' })), /dtype: expected one of .*, got "toString"$/],
    ['a negative dimension', fileWith(tensor({ shape: [-2] })), /^tensor "t": shape: expected an array of non-negative integers, got \[-2\]$/],
    ['a fractional dimension', fileWith(tensor({ shape: [0.5, 4] })), /shape: expected an array of non-negative integers, got \[0.5,4\]$/],
    ['a missing shape', fileWith({ t: { dtype: 'F32', data_offsets: [0, 0] } }), /shape: expected an array of non-negative integers, got nothing$/],
    ['offsets past the end', fileWith(tensor({ data_offsets: [0, 1e6] }), new Uint8Array(8)), /data_offsets: expected begin ≤ end ≤ 8 \(the data section's size\), got \[0, 1000000\]$/],
    ['begin after end', fileWith(tensor({ data_offsets: [8, 0] }), new Uint8Array(8)), /got \[8, 0\]$/],
    ['three offsets', fileWith(tensor({ data_offsets: [0, 4, 8] }), new Uint8Array(8)), /data_offsets: expected \[begin, end\] of non-negative integers, got \[0,4,8\]$/],
    ['offsets beyond 2^53', fileWith(tensor({ data_offsets: [0, 2 ** 64] }), new Uint8Array(8)), /data_offsets: expected \[begin, end\] of non-negative integers/],
    ['a size that does not match the shape', fileWith(tensor({ shape: [3] }), new Uint8Array(8)), /^tensor "t": expected data_offsets spanning 12 bytes \(shape \[3\] of F32\), got \[0, 8\] \(8 bytes\)$/],
    ['a shape whose size overflows', fileWith(tensor({ shape: [2 ** 40, 2 ** 40, 2 ** 40] }), new Uint8Array(8)), /spanning more than the data section's 8 bytes/],
    [
      'overlapping tensors',
      fileWith({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [3, 7] } }, new Uint8Array(8)),
      /^tensors "a" \[0, 4\] and "b" \[3, 7\]: expected disjoint data_offsets, got overlapping ones$/,
    ],
    ['a non-string metadata value', fileWith({ __metadata__: { kind: 3 } }), /^__metadata__\["kind"\]: expected a string, got 3$/],
    ['metadata that is an array', fileWith({ __metadata__: ['a'] }), /^__metadata__: expected an object of strings, got \["a"\]$/],
    ['a 200 000-dimension shape', fileWith(tensor({ shape: new Array(200_000).fill(1) }), new Uint8Array(8)), /spanning 4 bytes/],
  ];
  for (const [title, bytes, reason] of cases) {
    it(`rejects ${title}`, async () => {
      const err = await readSafetensors(bytes).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointFormatError);
      expect(err).toMatchObject({ file: 'buffer', code: 'ERR_CHECKPOINT_FORMAT' });
      expect((err as CheckpointFormatError).reason).toMatch(reason);
    });
  }
});

/** binary16 → number through float32 bits (a different route from the reader's arithmetic). */
function halfIndependently(h: number): number {
  if (((h >> 10) & 0x1f) === 0x1f) return h & 0x3ff ? NaN : h & 0x8000 ? -Infinity : Infinity;
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, (h & 0x7fff) << 13);
  const magnitude = view.getFloat32(0) * 2 ** 112;
  return h & 0x8000 ? -magnitude : magnitude;
}

function bf16Independently(b: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, b << 16);
  return view.getFloat32(0);
}

/** What reading `written` back must give. */
function expectedRaw(written: WritableRawTensor): ArrayLike<number | bigint> {
  switch (written.dtype) {
    case 'F16':
      return Array.from(written.data, halfIndependently);
    case 'BF16':
      return Array.from(written.data, bf16Independently);
    case 'BOOL':
      return Array.from(written.data, (b) => (b ? 1 : 0));
    default:
      return written.data;
  }
}

const rawTensor: fc.Arbitrary<WritableRawTensor> = fc
  .tuple(fc.constantFrom('F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'U8', 'BOOL'), fc.array(fc.nat(4), { maxLength: 3 }))
  .chain(([dtype, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const len = { minLength: n, maxLength: n };
    const data: Record<string, fc.Arbitrary<WritableRawTensor['data']>> = {
      F64: fc.float64Array(len),
      F32: fc.float32Array(len),
      F16: fc.array(fc.integer({ min: 0, max: 0xffff }), len).map((a) => Uint16Array.from(a)),
      BF16: fc.array(fc.integer({ min: 0, max: 0xffff }), len).map((a) => Uint16Array.from(a)),
      I64: fc.bigInt64Array(len),
      I32: fc.int32Array(len),
      U8: fc.uint8Array(len),
      BOOL: fc.uint8Array(len),
    };
    return data[dtype]!.map((d) => ({ dtype, shape, data: d }) as WritableRawTensor);
  });

describe(`safetensors write → read property [${backendName()}]`, () => {
  it('random tensors, names and metadata come back exactly', async () => {
    const names = fc.string().filter((s) => s !== '__metadata__');
    await fc.assert(
      fc.asyncProperty(fc.dictionary(names, rawTensor, { maxKeys: 5 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), async (tensors, metadata) => {
        const file = await readSafetensors(await writeSafetensors(tensors, metadata));
        expect(file.metadata).toEqual(metadata);
        expect([...file.keys()].sort()).toEqual(Object.keys(tensors).sort());
        for (const [name, written] of Object.entries(tensors)) {
          const raw: RawTensor = await file.rawTensor(name);
          expect([raw.dtype, raw.shape]).toEqual([written.dtype, written.shape]);
          const want = expectedRaw(written);
          for (let i = 0; i < want.length; i++) {
            if (!Object.is(raw.data[i], want[i])) expect([name, i, raw.data[i]]).toEqual([name, i, want[i]]);
          }
        }
        await file.close();
      }),
      { ...RUNS, numRuns: 100 },
    );
  }, TIME_LIMIT_MS);
});
