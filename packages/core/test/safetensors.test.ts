import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DTypeError, InvalidArgumentError, ShapeError, ValueRangeError } from '../src/errors.js';
import { TruncatedDataError } from '../src/io/byteSource.js';
import { CheckpointFormatError } from '../src/io/checkpointErrors.js';
import { bytesFromFile, readSafetensorsFile } from '../src/io/fileSource.js';
import { readSafetensors, type SafetensorsFile, writeSafetensors } from '../src/io/safetensors.js';
import { bytesFromUrl, HttpReadError } from '../src/io/urlSource.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';

const ITEM_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1, F64: 8 };
const TF_DTYPES: Record<string, tf.DataType> = { F32: 'float32', F16: 'float32', BF16: 'float32', I64: 'int32', I32: 'int32', U8: 'int32', BOOL: 'bool' };

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The header parsed with Buffer's own readers, independently of the code under test. */
function parseIndependently(buf: Buffer): { dataStart: number; header: Record<string, unknown> } {
  const length = Number(buf.readBigUInt64LE(0));
  return { dataStart: 8 + length, header: JSON.parse(buf.toString('utf8', 8, 8 + length)) as Record<string, unknown> };
}

function decodeIndependently(buf: Buffer, dataStart: number, entry: HeaderEntry): Array<number | bigint> {
  const [begin, end] = entry.data_offsets;
  const size = ITEM_BYTES[entry.dtype]!;
  const at = (i: number) => dataStart + begin + i * size;
  const read: Record<string, (i: number) => number | bigint> = {
    F32: (i) => buf.readFloatLE(at(i)),
    I64: (i) => buf.readBigInt64LE(at(i)),
    I32: (i) => buf.readInt32LE(at(i)),
    U8: (i) => buf.readUInt8(at(i)),
    BOOL: (i) => (buf.readUInt8(at(i)) === 0 ? 0 : 1),
  };
  const reader = read[entry.dtype];
  if (!reader) throw new Error(`the test decodes no ${entry.dtype}`);
  return Array.from({ length: (end - begin) / size }, (_, i) => reader(i));
}

/** Mismatching positions, NaN equal to NaN. */
function mismatches(actual: ArrayLike<number | bigint>, expected: ArrayLike<number | bigint>): number {
  if (actual.length !== expected.length) return Math.max(actual.length, expected.length);
  let bad = 0;
  for (let i = 0; i < actual.length; i++) if (!Object.is(actual[i], expected[i]) && actual[i] !== expected[i]) bad++;
  return bad;
}

/** A safetensors file from a header object and data bytes, for layouts writeSafetensors would not produce. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** A local HTTP server for `bytes`; `ranges: 'first'` honours only the first Range request, as a flaky CDN might. */
async function serve(bytes: Uint8Array, { ranges }: { ranges: boolean | 'first' }) {
  const requests: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    requests.push(req.headers.range);
    if (req.url !== '/file.safetensors') return void res.writeHead(404, 'Not Found').end();
    const honour = ranges === true || (ranges === 'first' && requests.length === 1);
    const m = honour ? /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '') : null;
    if (!m) return void res.writeHead(200, { 'Content-Length': bytes.length }).end(bytes);
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), bytes.length - 1);
    if (start >= bytes.length) return void res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` }).end();
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${bytes.length}`, 'Content-Length': end - start + 1 });
    res.end(bytes.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/file.safetensors`,
    requests,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** Everything a reader exposes, for comparing one file read through different sources. */
async function snapshot(file: SafetensorsFile) {
  const tensors: Record<string, unknown> = {};
  for (const name of file.keys()) tensors[name] = { info: file.info(name), raw: await file.rawTensor(name) };
  return { metadata: file.metadata, keys: file.keys(), tensors };
}

const fixtures = [...listFixtures('reference', '.safetensors'), ...listFixtures('torch', '.safetensors')];

describe(`safetensors fixtures [${backendName()}]`, () => {
  it('finds fixture files', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  for (const path of fixtures) {
    const title = `${basename(dirname(path))}/${basename(path)}`;
    it(`${title}: metadata, sizes and every value match an independent decode`, async () => {
      const buf = readFileSync(path);
      const { dataStart, header } = parseIndependently(buf);
      const { __metadata__: meta = {}, ...entries } = header as { __metadata__?: Record<string, string> } & Record<string, HeaderEntry>;
      const file = await readSafetensorsFile(path);
      try {
        expect(file.metadata).toEqual(meta);
        if ('kind' in meta) expect(typeof file.metadata.kind).toBe('string');
        if ('config_json' in meta) expect(typeof JSON.parse(file.metadata.config_json!)).toBe('object');
        if ('spec_json' in meta) expect(typeof JSON.parse(file.metadata.spec_json!)).toBe('object');
        expect([...file.keys()].sort()).toEqual(Object.keys(entries).sort());

        const expected = new Map<string, Array<number | bigint>>();
        for (const [name, entry] of Object.entries(entries)) {
          const info = file.info(name);
          expect(info).toEqual({ dtype: entry.dtype, shape: entry.shape, byteLength: entry.data_offsets[1] - entry.data_offsets[0] });
          expect(info.byteLength, name).toBe(info.shape.reduce((a, b) => a * b, 1) * ITEM_BYTES[info.dtype]!);
          const values = decodeIndependently(buf, dataStart, entry);
          expected.set(name, values);
          expect(mismatches((await file.rawTensor(name)).data, values), name).toBe(0);
        }

        await expectNoLeaks(async () => {
          const tensors = await file.tensors();
          for (const [name, t] of Object.entries(tensors)) {
            const entry = entries[name]!;
            expect(t.shape, name).toEqual(entry.shape);
            expect(t.dtype, name).toBe(TF_DTYPES[entry.dtype]);
            const want = expected.get(name)!.map(Number);
            expect(mismatches(await t.data(), want), name).toBe(0);
          }
          tf.dispose(tensors);
        });
      } finally {
        await file.close();
      }
    });
  }

  const sample = fixtures.find((p) => p.endsWith('state_dict_seed0.safetensors')) ?? fixtures[0];
  it.runIf(sample)(`${basename(sample ?? '')}: a path, a Buffer, a Blob and a URL (with and without Range) read the same`, async () => {
    const path = sample!;
    const buf = readFileSync(path);
    const withRanges = await serve(buf, { ranges: true });
    const withoutRanges = await serve(buf, { ranges: false });
    try {
      const readers = [
        () => readSafetensorsFile(path),
        () => readSafetensors(buf),
        () => readSafetensors(new Blob([buf])),
        () => readSafetensors(withRanges.url),
        () => readSafetensors(new URL(withoutRanges.url)),
      ];
      const snapshots = [];
      for (const open of readers) {
        const file = await open();
        snapshots.push(await snapshot(file));
        await file.close();
      }
      for (const s of snapshots.slice(1)) expect(s).toEqual(snapshots[0]);
      expect(withoutRanges.requests).toHaveLength(1);
      expect(withRanges.requests.every((r) => r?.startsWith('bytes='))).toBe(true);
    } finally {
      await withRanges.close();
      await withoutRanges.close();
    }
  });
});

describe(`safetensors round trips [${backendName()}]`, () => {
  it('writes every dtype and reads it back, as tensors and raw', async () => {
    const f32 = tf.tensor2d([1, -0, NaN, Infinity, 1e-45, -3.5], [2, 3]);
    const i32 = tf.tensor1d([-2147483648, 2147483647, 0, 7], 'int32');
    const bool = tf.tensor2d([true, false, false, true], [2, 2], 'bool');
    const halfBits = [0x0000, 0x8000, 0x3c00, 0xc000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x3555];
    const halfValues = [0, -0, 1, -2, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 65504, Infinity, -Infinity, NaN, 1365 * 2 ** -12];
    const bf16Bits = [0x3f80, 0xc040, 0x7f80, 0x0001, 0x7fc0, 0x8000];
    const bf16Values = [1, -3, Infinity, 2 ** -133, NaN, -0];
    const i64 = BigInt64Array.from([-2147483648n, 2147483647n, 0n, -1n]);
    // Float64 values float32 cannot hold: 0.1 and 1 + 2^-40 round, 1e300 overflows, 1e-320 underflows.
    const f64 = Float64Array.from([0.1, 1 + 2 ** -40, 1e300, -1e-320, NaN, -0]);
    const bytes = await writeSafetensors(
      {
        f32,
        f64: { dtype: 'F64', shape: [2, 3], data: f64 },
        i32,
        bool,
        i64: { dtype: 'I64', shape: [2, 2], data: i64 },
        f16: { dtype: 'F16', shape: [12], data: Uint16Array.from(halfBits) },
        bf16: { dtype: 'BF16', shape: [3, 2], data: Uint16Array.from(bf16Bits) },
        u8: { dtype: 'U8', shape: [3], data: Uint8Array.from([0, 255, 7]) },
        rawBool: { dtype: 'BOOL', shape: [3], data: Uint8Array.from([0, 1, 2]) },
      },
      { kind: 'test', 'ünïcode': '✓ "quoted"\n', ['__proto__']: 'a plain key' },
    );

    const file = await readSafetensors(bytes);
    expect(file.metadata).toEqual(Object.fromEntries([['kind', 'test'], ['ünïcode', '✓ "quoted"\n'], ['__proto__', 'a plain key']]));
    expect(Object.getPrototypeOf(file.metadata)).toBe(Object.prototype);
    expect([...file.keys()].sort()).toEqual(['bf16', 'bool', 'f16', 'f32', 'f64', 'i32', 'i64', 'rawBool', 'u8']);
    expect(file.info('f64')).toEqual({ dtype: 'F64', shape: [2, 3], byteLength: 48 });
    expect(file.info('f16')).toEqual({ dtype: 'F16', shape: [12], byteLength: 24 });
    expect(file.info('i64')).toEqual({ dtype: 'I64', shape: [2, 2], byteLength: 32 });

    const expected: Record<string, { dtype: tf.DataType; shape: number[]; values: number[] }> = {
      f32: { dtype: 'float32', shape: [2, 3], values: [1, -0, NaN, Infinity, Math.fround(1e-45), -3.5] },
      f64: { dtype: 'float32', shape: [2, 3], values: Array.from(f64, Math.fround) },
      i32: { dtype: 'int32', shape: [4], values: [-2147483648, 2147483647, 0, 7] },
      bool: { dtype: 'bool', shape: [2, 2], values: [1, 0, 0, 1] },
      i64: { dtype: 'int32', shape: [2, 2], values: [-2147483648, 2147483647, 0, -1] },
      f16: { dtype: 'float32', shape: [12], values: halfValues },
      bf16: { dtype: 'float32', shape: [3, 2], values: bf16Values },
      u8: { dtype: 'int32', shape: [3], values: [0, 255, 7] },
      rawBool: { dtype: 'bool', shape: [3], values: [0, 1, 1] },
    };
    await expectNoLeaks(async () => {
      for (const [name, want] of Object.entries(expected)) {
        const t = await file.tensor(name);
        expect([t.dtype, t.shape], name).toEqual([want.dtype, want.shape]);
        expect(mismatches(await t.data(), want.values), name).toBe(0);
        t.dispose();
      }
    });

    const rawF64 = await file.rawTensor('f64');
    expect(rawF64.data).toBeInstanceOf(Float64Array);
    expect(mismatches(rawF64.data, [...f64])).toBe(0);
    const rawI64 = await file.rawTensor('i64');
    expect(rawI64.data).toBeInstanceOf(BigInt64Array);
    expect(rawI64.data).toEqual(i64);
    expect(mismatches((await file.rawTensor('f16')).data, halfValues)).toBe(0);
    expect((await file.rawTensor('rawBool')).data).toEqual(Uint8Array.from([0, 1, 1]));
    expect((await file.rawTensor('u8')).data).toEqual(Uint8Array.from([0, 255, 7]));
    await file.close();
    tf.dispose([f32, i32, bool]);
  });

  it('round-trips empty tensors, scalars, a "__proto__" name and no metadata', async () => {
    const empty = tf.zeros([2, 0, 3]);
    const scalar = tf.scalar(2.5);
    const bytes = await writeSafetensors({
      empty,
      scalar,
      ['__proto__']: tf.scalar(1, 'int32'),
      emptyI64: { dtype: 'I64', shape: [0], data: new BigInt64Array(0) },
      scalarI64: { dtype: 'I64', shape: [], data: BigInt64Array.from([-5n]) },
    });
    const file = await readSafetensors(bytes);
    expect(file.metadata).toEqual({});
    expect(file.info('empty')).toEqual({ dtype: 'F32', shape: [2, 0, 3], byteLength: 0 });
    expect(file.info('scalar')).toEqual({ dtype: 'F32', shape: [], byteLength: 4 });
    await expectNoLeaks(async () => {
      const all = await file.tensors();
      expect(Object.keys(all).sort()).toEqual(['__proto__', 'empty', 'emptyI64', 'scalar', 'scalarI64']);
      expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
      expect(all.empty!.shape).toEqual([2, 0, 3]);
      expect(all.emptyI64!.shape).toEqual([0]);
      expect([all.scalar!.shape, Array.from(await all.scalar!.data())]).toEqual([[], [2.5]]);
      expect([all.scalarI64!.dtype, Array.from(await all.scalarI64!.data())]).toEqual(['int32', [-5]]);
      expect(Array.from(await all['__proto__']!.data())).toEqual([1]);
      tf.dispose(Object.values(all));
    });
    await file.close();
    tf.dispose([empty, scalar]);
  });

  it('writes the standard layout: u64 LE length, space-padded header, tensors in sorted name order', async () => {
    const bytes = await writeSafetensors(
      { b: tf.tensor1d([1]), a: { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 2, 3]) }, c: tf.tensor1d([2], 'int32') },
      { m: 'x' },
    );
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const length = Number(buf.readBigUInt64LE(0));
    expect(length % 8).toBe(0);
    const text = buf.toString('utf8', 8, 8 + length);
    const json = text.trimEnd();
    expect(length - json.length).toBeLessThan(8);
    expect(text.slice(json.length)).toMatch(/^ *$/);
    const header = JSON.parse(text) as Record<string, HeaderEntry>;
    expect(header.a!.data_offsets).toEqual([0, 3]);
    expect(header.b!.data_offsets).toEqual([3, 7]);
    expect(header.c!.data_offsets).toEqual([7, 11]);
    expect(header.__metadata__).toEqual({ m: 'x' });
    expect([...bytes.subarray(8 + length)]).toEqual([1, 2, 3, 0x00, 0x00, 0x80, 0x3f, 2, 0, 0, 0]);
    expect(buf.length).toBe(8 + length + 11);
  });

  it('rejects what it cannot write, naming the tensor', async () => {
    const str = tf.tensor1d(['a']);
    const disposed = tf.scalar(1);
    disposed.dispose();
    const cases: Array<[Record<string, unknown>, Record<string, string> | undefined, new (...args: never[]) => Error, RegExp]> = [
      [{ s: str }, undefined, DTypeError, /tensors\["s"\]: expected dtype float32, int32 or bool, got dtype string/],
      [{ d: disposed }, undefined, InvalidArgumentError, /tensors\["d"\]: expected a live tf.Tensor/],
      [{ x: { dtype: 'F32', shape: [2], data: new Float64Array(2) } }, undefined, DTypeError, /tensors\["x"\].data: expected a Float32Array for F32/],
      [{ x: { dtype: 'I32', shape: [3], data: new Int32Array(2) } }, undefined, ShapeError, /expected 3 values for shape \[3\], got 2 values/],
      [{ x: { dtype: 'I32', shape: [-1], data: new Int32Array(1) } }, undefined, ShapeError, /shape: expected an array of non-negative integers/],
      [{ x: { dtype: 'U64', shape: [1], data: new BigUint64Array(1) } }, undefined, InvalidArgumentError, /dtype "U64"/],
      [{ x: [1, 2] }, undefined, InvalidArgumentError, /tensors\["x"\]: expected a tf.Tensor or \{dtype, shape, data\}/],
      [{ __metadata__: tf.scalar(1) }, undefined, InvalidArgumentError, /reserved/],
      [{}, { n: 1 as unknown as string }, InvalidArgumentError, /metadata\["n"\]: expected a string, got 1/],
      [str as never, undefined, InvalidArgumentError, /^tensors: expected an object of tensors by name, got tensor string \[1\]$/],
    ];
    for (const [tensors, metadata, type, message] of cases) {
      const err = await writeSafetensors(tensors as never, metadata).catch((e: unknown) => e);
      expect(err, String(message)).toBeInstanceOf(type);
      expect((err as Error).message).toMatch(message);
    }
    tf.dispose([str, cases[7]![0].__metadata__ as tf.Tensor]);
  });
});

describe(`safetensors reading [${backendName()}]`, () => {
  it('refuses I64 values outside int32 as tensors (naming tensor and value), reads them exactly raw, leaks nothing', async () => {
    const file = await readSafetensors(
      await writeSafetensors({
        a: tf.scalar(1),
        big: { dtype: 'I64', shape: [3], data: BigInt64Array.from([1n, -2147483649n, 3n]) },
        z: tf.scalar(2),
      }),
    );
    const err = await file.tensor('big').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValueRangeError);
    expect((err as Error).message).toMatch(/tensor "big" in buffer: expected I64 values within int32 range .*, got -2147483649 at flat index 1/);
    await expectNoLeaks(async () => {
      await expect(file.tensors()).rejects.toThrow(ValueRangeError);
    });
    expect((await file.rawTensor('big')).data).toEqual(BigInt64Array.from([1n, -2147483649n, 3n]));
    await file.close();
  });

  it('opens files with dtypes it cannot decode, refusing only those tensors', async () => {
    const data = new Uint8Array(12);
    new DataView(data.buffer).setBigUint64(0, 5n, true);
    new DataView(data.buffer).setFloat32(8, 0.25, true);
    const file = await readSafetensors(
      craft({ d: { dtype: 'U64', shape: [1], data_offsets: [0, 8] }, f: { dtype: 'F32', shape: [], data_offsets: [8, 12] } }, data),
    );
    expect(file.info('d')).toEqual({ dtype: 'U64', shape: [1], byteLength: 8 });
    await expect(file.tensor('d')).rejects.toThrow(DTypeError);
    await expect(file.rawTensor('d')).rejects.toThrow(/tensor "d" in buffer: expected one of F64, F32, F16, BF16, I64, I32, U8, BOOL, got U64/);
    expect((await file.rawTensor('f')).data).toEqual(Float32Array.from([0.25]));
    await file.close();
  });

  it('names unknown tensors and refuses data reads after close()', async () => {
    const file = await readSafetensors(await writeSafetensors({ a: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }));
    expect(() => file.info('b')).toThrow(/name: expected one of the 1 tensor names in buffer, got "b"/);
    await expect(file.tensors(['a', 'b'])).rejects.toThrow(InvalidArgumentError);
    await file.close();
    await file.close();
    await expect(file.tensor('a')).rejects.toThrow(/buffer: expected an open safetensors file, got a read after close\(\)/);
    expect(file.info('a')).toEqual({ dtype: 'U8', shape: [1], byteLength: 1 });
  });

  it('reads tensors lazily: one tensor costs one read of exactly its bytes', async () => {
    const bytes = await writeSafetensors({ a: tf.zeros([64]), b: tf.ones([3]), c: tf.zeros([64]) });
    const reads: Array<[number, number]> = [];
    const source = {
      size: bytes.length,
      name: 'counted',
      read: async (offset: number, length: number) => (reads.push([offset, length]), bytes.subarray(offset, offset + length)),
      close: async () => {},
    };
    const file = await readSafetensors(source);
    const headerReads = reads.length;
    const t = await file.tensor('b');
    expect(reads.slice(headerReads)).toEqual([[bytes.length - 64 * 4 - 12, 12]]);
    expect(Array.from(await t.data())).toEqual([1, 1, 1]);
    t.dispose();
    await file.close();
  });
});

describe(`byte sources for safetensors [${backendName()}]`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nextdetail-safetensors-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bytesFromFile reads at offsets, rejects reads past the end and after close, names missing files', async () => {
    const path = join(dir, 'bytes.bin');
    writeFileSync(path, Uint8Array.from({ length: 100 }, (_, i) => i));
    const source = await bytesFromFile(path);
    expect([source.size, source.name]).toEqual([100, path]);
    expect([...(await source.read(95, 5))]).toEqual([95, 96, 97, 98, 99]);
    expect(await source.read(100, 0)).toHaveLength(0);
    await expect(source.read(98, 5)).rejects.toThrow(TruncatedDataError);
    await expect(source.read(-1, 1)).rejects.toThrow(InvalidArgumentError);
    await source.close();
    await expect(source.read(0, 1)).rejects.toThrow(/expected an open byte source, got a read after close\(\)/);

    const missing = join(dir, 'missing.safetensors');
    await expect(bytesFromFile(missing)).rejects.toThrow(new RegExp(`path: expected a readable file, got "${missing}" \\(ENOENT`));
    await expect(bytesFromFile(dir)).rejects.toThrow(/expected a regular file/);
  });

  it('readSafetensorsFile reports malformed files by path', async () => {
    const path = join(dir, 'short.safetensors');
    writeFileSync(path, Uint8Array.from([1, 2, 3]));
    const err = await readSafetensorsFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(err).toMatchObject({ file: path, code: 'ERR_CHECKPOINT_FORMAT' });
    expect((err as CheckpointFormatError).reason).toBe('expected at least 8 bytes (the header length), got 3');
  });

  it('bytesFromUrl reads ranges, falls back to one download without Range, and handles empty files', async () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    const ranged = await serve(bytes, { ranges: true });
    const plain = await serve(bytes, { ranges: false });
    const empty = await serve(new Uint8Array(0), { ranges: true });
    try {
      const a = await bytesFromUrl(ranged.url);
      expect(a.size).toBe(1000);
      expect([...(await a.read(500, 3))]).toEqual([500 % 251, 501 % 251, 502 % 251]);
      expect(ranged.requests).toEqual(['bytes=0-0', 'bytes=500-502']);
      await expect(a.read(999, 2)).rejects.toThrow(TruncatedDataError);
      await a.close();
      await expect(a.read(0, 1)).rejects.toThrow(/read after close/);

      const b = await bytesFromUrl(plain.url);
      expect([b.size, [...(await b.read(997, 3))]]).toEqual([1000, [997 % 251, 998 % 251, 999 % 251]]);
      await b.read(0, 10);
      expect(plain.requests).toHaveLength(1);

      const c = await bytesFromUrl(empty.url);
      expect(c.size).toBe(0);
      await expect(readSafetensors(empty.url)).rejects.toThrow(CheckpointFormatError);

      const flaky = await serve(bytes, { ranges: 'first' });
      const d = await bytesFromUrl(flaky.url);
      expect([d.size, [...(await d.read(10, 2))], [...(await d.read(20, 1))]]).toEqual([1000, [10, 11], [20]]);
      expect(flaky.requests).toEqual(['bytes=0-0', 'bytes=10-11']);
      await flaky.close();

      let calls = 0;
      const counting: typeof fetch = (input, init) => (calls++, fetch(input, init));
      await (await bytesFromUrl(ranged.url, { fetch: counting })).read(0, 4);
      expect(calls).toBe(2);
    } finally {
      await Promise.all([ranged.close(), plain.close(), empty.close()]);
    }
  });

  it('bytesFromUrl turns HTTP errors and refused connections into HttpReadErrors', async () => {
    const server = await serve(new Uint8Array(8), { ranges: true });
    const missing = `${server.base}/missing`;
    const err = await bytesFromUrl(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpReadError);
    expect(err).toMatchObject({ url: missing, code: 'ERR_HTTP' });
    expect((err as Error).message).toMatch(/expected HTTP 200 or 206 for a Range probe, got HTTP 404 Not Found/);
    await server.close();
    await expect(readSafetensors(server.url)).rejects.toThrow(HttpReadError);
  });
});
