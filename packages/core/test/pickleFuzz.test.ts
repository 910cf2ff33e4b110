import fc from 'fast-check';
import { type FileEntry, Uint8ArrayReader, Uint8ArrayWriter, ZipReader, ZipWriter } from '@zip.js/zip.js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NextDetailError } from '../src/errors.js';
import { CheckpointFormatError } from '../src/io/checkpointErrors.js';
import { PickleGlobal, TorchTensorRef, unpickleStateDict } from '../src/io/pickle.js';
import { UnsafePickleError } from '../src/io/pickleErrors.js';
import { type PytorchCheckpoint, readPytorch } from '../src/io/pytorch.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';

const RUNS = { seed: 7, numRuns: 300 };

// --- writing pickles by hand (opcode values from CPython's pickletools) ---

type Bytes = readonly number[];
const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)];
const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
const u64 = (n: bigint): number[] => Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 255n));

const op = {
  proto: (v = 2): Bytes => [0x80, v],
  stop: [0x2e],
  mark: [0x28],
  tuple: [0x74],
  tuple1: [0x85],
  tuple2: [0x86],
  emptyTuple: [0x29],
  emptyDict: [0x7d],
  emptyList: [0x5d],
  append: [0x61],
  setitem: [0x73],
  setitems: [0x75],
  reduce: [0x52],
  build: [0x62],
  persid: [0x51],
  newFalse: [0x89],
  newTrue: [0x88],
  none: [0x4e],
  int: (n: number): Bytes => (n >= 0 && n < 256 ? [0x4b, n] : [0x4a, ...u32(n)]),
  str: (s: string): Bytes => [0x58, ...u32(utf8(s).length), ...utf8(s)],
  global: (module: string, name: string): Bytes => [0x63, ...utf8(`${module}\n${name}\n`)],
  stackGlobal: (module: string, name: string): Bytes => [...op.str(module), ...op.str(name), 0x93],
  put: (i: number): Bytes => [0x71, i],
  get: (i: number): Bytes => [0x68, i],
} as const;

function pickle(...parts: Bytes[]): Uint8Array {
  return Uint8Array.from(parts.flat());
}

/** `_rebuild_tensor_v2(persistent_load(('storage', FloatStorage, key, 'cpu', numel)), offset, size, stride, False, OrderedDict())`. */
function tensorOps(key: string, numel: number, offset: number, size: number[], stride: number[]): Bytes {
  return [
    ...op.global('torch._utils', '_rebuild_tensor_v2'),
    ...op.mark,
    ...op.mark, ...op.str('storage'), ...op.global('torch', 'FloatStorage'), ...op.str(key), ...op.str('cpu'), ...op.int(numel), ...op.tuple,
    ...op.persid,
    ...op.int(offset),
    ...op.mark, ...size.flatMap(op.int), ...op.tuple,
    ...op.mark, ...stride.flatMap(op.int), ...op.tuple,
    ...op.newFalse,
    ...op.global('collections', 'OrderedDict'), ...op.emptyTuple, ...op.reduce,
    ...op.tuple,
    ...op.reduce,
  ];
}

/** Runs `fn`; a NextDetailError is an acceptable outcome, anything else (TypeError, RangeError, …) a bug. */
async function typedOutcome(fn: () => unknown): Promise<'ok' | NextDetailError> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    if (err instanceof NextDetailError) return err;
    throw err;
  }
}

/** Reads every tensor of the default state dict both ways; tfjs tensors are disposed at once. */
async function drain(ckpt: PytorchCheckpoint): Promise<void> {
  try {
    for (const name of ckpt.keys()) {
      await ckpt.rawTensor(name);
      (await ckpt.tensor(name)).dispose();
    }
  } finally {
    await ckpt.close();
  }
}

// --- the valid fixture, and where its data.pkl sits inside it ---

const FIXTURE = new Uint8Array(readFileSync(listFixtures('torch', '.pth')[0]!));
const ENTRIES = (await new ZipReader(new Uint8ArrayReader(FIXTURE), { useWebWorkers: false }).getEntries()).filter(
  (e): e is FileEntry => !e.directory,
);
const PICKLE_ENTRY = ENTRIES.find((e) => e.filename.endsWith('/data.pkl'))!;
const FOLDER = PICKLE_ENTRY.filename.slice(0, -'data.pkl'.length);
const PICKLE = await PICKLE_ENTRY.getData(new Uint8ArrayWriter(), { useWebWorkers: false });
// Stored, so its bytes appear verbatim in the file: mutating them there fuzzes the VM behind a valid zip.
const PICKLE_AT = (() => {
  for (let i = 0; i + PICKLE.length <= FIXTURE.length; i++) {
    if (FIXTURE.subarray(i, i + PICKLE.length).every((b, j) => b === PICKLE[j])) return i;
  }
  throw new Error('data.pkl not found verbatim in the fixture');
})();
const STORAGE_0 = await ENTRIES.find((e) => e.filename === `${FOLDER}data/0`)!.getData(new Uint8ArrayWriter(), { useWebWorkers: false });

/** A checkpoint holding `pkl` and the fixture's storage "0" (216 floats). */
async function archiveWith(pkl: Uint8Array): Promise<Uint8Array> {
  const writer = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false, level: 0 });
  await writer.add(`${FOLDER}data.pkl`, new Uint8ArrayReader(pkl));
  await writer.add(`${FOLDER}data/0`, new Uint8ArrayReader(STORAGE_0));
  return writer.close();
}

const ALLOWED_GLOBALS = [
  ['collections', 'OrderedDict'],
  ['torch._utils', '_rebuild_tensor'],
  ['torch._utils', '_rebuild_tensor_v2'],
  ['torch._utils', '_rebuild_parameter'],
  ['torch._utils', '_rebuild_parameter_with_state'],
  ['torch', 'FloatStorage'],
  ['torch', 'LongStorage'],
  ['torch', 'float32'],
] as const;
const ALLOWED = new Set<string>([
  ...ALLOWED_GLOBALS.map(([m, n]) => `${m}.${n}`),
  ...['Double', 'Float', 'Half', 'BFloat16', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool', 'Untyped'].map((t) => `torch.${t}Storage`),
  ...['float64', 'float32', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'].map((d) => `torch.${d}`),
]);

/** Single opcodes with plausible operands, plus raw bytes and whole fragments that reach deeper VM states. */
const anyOpcode: fc.Arbitrary<Bytes> = fc.oneof(
  fc.constantFrom<Bytes>(
    op.mark, op.tuple, op.tuple1, op.tuple2, [0x87], op.emptyTuple, op.emptyDict, op.emptyList, [0x6c], [0x64],
    op.append, [0x65], op.setitem, op.setitems, op.reduce, [0x81], op.build, op.persid, op.newFalse, op.newTrue,
    op.none, [0x30], [0x31], [0x94], [0x93], op.stop,
  ),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map(op.int),
  fc.integer({ min: 0, max: 65535 }).map((n): Bytes => [0x4d, n & 255, n >> 8]),
  fc.uint8Array({ maxLength: 10 }).map((b): Bytes => [0x8a, b.length, ...b]),
  fc.double().map((x): Bytes => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, false);
    return [0x47, ...b];
  }),
  fc.string({ maxLength: 6 }).map(op.str),
  fc.constantFrom('storage', 'cpu', '0', 'model').map(op.str),
  fc.constantFrom(...ALLOWED_GLOBALS).map(([m, n]) => op.global(m, n)),
  fc.integer({ min: 0, max: 6 }).map(op.put),
  fc.integer({ min: 0, max: 6 }).map(op.get),
  fc.constant(tensorOps('0', 216, 0, [8, 27], [27, 1])),
  fc.constant(tensorOps('0', 216, 5, [6, 5], [1, 6])),
  fc.integer({ min: 0, max: 255 }).map((b): Bytes => [b]),
);
const opcodeStream = fc
  .array(anyOpcode, { maxLength: 40 })
  .map((ops) => pickle(op.proto(), ...ops, op.stop));

describe(`restricted unpickler: hand-written pickles [${backendName()}]`, () => {
  it('reads a protocol-4 dict as CPython writes it (FRAME, MEMOIZE, SHORT_BINUNICODE, LONG1, BINFLOAT, bytes)', () => {
    // pickle.dumps({'epoch': 7, 'lr': 2.5e-4, 'name': 'd16', 'tags': ['a', 'é'], 'shape': (1, 2), 'big': 2**70,
    //               'neg': -3, 'none': None, 'flag': True, 'raw': b'\x00\x01'}, protocol=4) in CPython 3.
    const hex =
      '80049583000000000000007d94288c0565706f6368944b078c026c7294473f30624dd2f1a9fc8c046e616d65948c03643136948c0474616773945d94288c0161948c02c3a994658c057368617065944b014b0286948c03626967948a090000000000000000408c036e6567944afdffffff8c046e6f6e65944e8c04666c616794888c03726177944302000194752e';
    const { root } = unpickleStateDict(Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16)), 'p4');
    expect(root).toEqual(
      new Map<string, unknown>([
        ['epoch', 7], ['lr', 2.5e-4], ['name', 'd16'], ['tags', ['a', 'é']], ['shape', [1, 2]], ['big', 2n ** 70n],
        ['neg', -3], ['none', null], ['flag', true], ['raw', Uint8Array.from([0, 1])],
      ]),
    );
    expect(Object.isFrozen((root as Map<string, unknown>).get('shape'))).toBe(true);
  });

  it("accepts BUILD on an OrderedDict (a module state dict's _metadata) and nothing else", () => {
    // collections.OrderedDict(w=1) with od._metadata = OrderedDict([('', {'version': 1})]), protocol 2.
    const hex =
      '800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710158010000007771024b01737d710358090000005f6d657461646174617104680029527105580000000071067d7107580700000076657273696f6e71084b01737373622e';
    const { root } = unpickleStateDict(Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16)), 'od');
    expect(root).toEqual(new Map([['w', 1]]));
    const onDict = pickle(op.proto(), op.emptyDict, op.emptyDict, op.build, op.stop);
    expect(() => unpickleStateDict(onDict, 'build')).toThrow(CheckpointFormatError);
  });

  it('rebuilds tensors, parameters and shared storages as lazy handles', () => {
    const { root, tensors, names } = unpickleStateDict(
      pickle(
        op.proto(), op.emptyDict, op.mark,
        op.str('w'), tensorOps('0', 216, 0, [8, 27], [27, 1]), op.put(1),
        op.str('p'), op.global('torch._utils', '_rebuild_parameter'), op.mark, op.get(1), op.newTrue,
        op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce, op.tuple, op.reduce,
        op.str('t'), tensorOps('0', 216, 3, [5, 6], [1, 5]),
        op.setitems, op.stop,
      ),
      'tensors',
    );
    const dict = root as Map<string, TorchTensorRef>;
    expect([...dict.keys()]).toEqual(['w', 'p', 't']);
    const [w, p, t] = [dict.get('w')!, dict.get('p')!, dict.get('t')!];
    expect([w.requiresGrad, p.requiresGrad, p.storage]).toEqual([false, true, w.storage]);
    expect(t.storage).toBe(w.storage);
    expect([t.shape, t.stride, t.storageOffset, t.numel, t.span]).toEqual([[5, 6], [1, 5], 3, 30, 30]);
    expect(tensors).toHaveLength(3);
    expect([names.get(w), names.get(p), names.get(t)]).toEqual(['w', 'p', 't']);
  });

  it('reads the pre-1.x _rebuild_tensor and refuses tensor metadata it cannot honour', () => {
    const storage = [
      ...op.mark, ...op.str('storage'), ...op.global('torch', 'HalfStorage'), ...op.str('k'), ...op.str('cpu'), ...op.int(4), ...op.tuple,
      ...op.persid,
    ];
    const v1 = pickle(
      op.proto(), op.global('torch._utils', '_rebuild_tensor'),
      op.mark, storage, op.int(1), op.int(3), op.tuple1, op.int(1), op.tuple1, op.tuple, op.reduce, op.stop,
    );
    const t = unpickleStateDict(v1, 'v1').root as TorchTensorRef;
    expect([t.dtype, t.shape, t.storageOffset, t.span]).toEqual(['float16', [3], 1, 3]);
    const negBit = pickle(
      op.proto(), op.global('torch._utils', '_rebuild_tensor_v2'),
      op.mark, storage, op.int(0), op.int(4), op.tuple1, op.int(1), op.tuple1, op.newFalse, op.emptyDict,
      op.emptyDict, op.str('neg'), op.newTrue, op.setitem, op.tuple, op.reduce, op.stop,
    );
    expect(() => unpickleStateDict(negBit, 'neg')).toThrow(/tensor metadata/);
  });

  it('refuses opcodes outside the supported set (protocol 0 text opcodes) with a typed error', () => {
    // pickle.dumps([1], protocol=0): MARK, LIST, PUT "0" (0x70), …
    expect(() => unpickleStateDict(new TextEncoder().encode('(lp0\nI1\na.'), 'p0')).toThrow(/unsupported opcode 0x70/);
  });

  it('names the global it refuses, before running anything', () => {
    for (const [module, name] of [['os', 'system'], ['posix', 'system'], ['builtins', 'eval'], ['torch', 'load']]) {
      const pkl = pickle(op.proto(), op.global(module!, name!), op.str('x'), op.tuple1, op.reduce, op.stop);
      expect(() => unpickleStateDict(pkl, 'g')).toThrow(UnsafePickleError);
      expect(() => unpickleStateDict(pkl, 'g')).toThrow(`${module}.${name}`);
    }
    // Storage classes and dtypes are allowed as values, never as calls.
    const call = pickle(op.proto(), op.global('torch', 'float32'), op.emptyTuple, op.reduce, op.stop);
    expect(() => unpickleStateDict(call, 'c')).toThrow(UnsafePickleError);
    const value = unpickleStateDict(pickle(op.proto(), op.global('torch', 'float32'), op.stop), 'v').root;
    expect(value).toEqual(new PickleGlobal('torch', 'float32'));
  });

  it('bounds the stack, the memo and the opcode count', () => {
    const marks = pickle(op.proto(), Array(2_001).fill(0x28) as number[], op.stop);
    expect(() => unpickleStateDict(marks, 'marks', { maxStack: 2_000 })).toThrow(/limits\.maxStack/);
    const values = pickle(op.proto(), Array(2_001).fill(0x4e) as number[], op.stop);
    expect(() => unpickleStateDict(values, 'values', { maxStack: 2_000 })).toThrow(/limits\.maxStack/);
    const memo = pickle(op.proto(), op.none, ...Array.from({ length: 20 }, (_, i) => [0x72, ...u32(i)]), op.stop);
    expect(() => unpickleStateDict(memo, 'memo', { maxMemo: 10 })).toThrow(/limits\.maxMemo/);
    expect(() => unpickleStateDict(memo, 'ops', { maxOps: 5 })).toThrow(/limits\.maxOps/);
    // A huge memo index is a key, not an array length.
    const far = pickle(op.proto(), op.none, [0x72, ...u32(0xffffffff)], [0x6a, ...u32(0xffffffff)], op.tuple2, op.stop);
    expect(unpickleStateDict(far, 'far').root).toEqual([null, null]);
  });

  it('builds deeply nested containers without recursion', async () => {
    // Far deeper than a recursive walk could go: V8 overflows at around 10k frames.
    const depth = 50_000;
    const nested = pickle(op.proto(), Array(depth).fill(0x5d) as number[], Array(depth - 1).fill(0x61) as number[], op.stop);
    let node = unpickleStateDict(nested, 'deep').root;
    let levels = 1;
    while (Array.isArray(node) && node.length === 1) {
      node = node[0]!;
      levels++;
    }
    expect(levels).toBe(depth);
    // Through the whole reader it is a typed "no state dict here", not a stack overflow.
    const ckpt = await readPytorch(await archiveWith(nested));
    expect(() => ckpt.keys()).toThrow(CheckpointFormatError);
  });

  it('rejects huge declared lengths and sizes before allocating', async () => {
    const declared: Bytes[] = [
      [0x58, ...u32(0xffffffff), 0x61], // BINUNICODE
      [0x8d, ...u64(2n ** 64n - 1n), 0x61], // BINUNICODE8
      [0x42, ...u32(0xfffffff0)], // BINBYTES
      [0x8e, ...u64(2n ** 62n)], // BINBYTES8
      [0x54, ...u32(0x80000000)], // BINSTRING, negative
      [0x95, ...u64(2n ** 40n)], // FRAME
    ];
    for (const bytes of declared) {
      const before = process.memoryUsage().arrayBuffers;
      expect(() => unpickleStateDict(pickle(op.proto(), bytes, op.stop), 'huge')).toThrow(CheckpointFormatError);
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
    }
    // A view far beyond its storage, and one past 2^53 elements: refused at open, from the layout alone.
    for (const [size, stride] of [[[1 << 30, 1 << 30], [1 << 30, 1]], [[2 ** 27, 2 ** 27], [2 ** 27, 1]]]) {
      const pkl = pickle(op.proto(), op.emptyDict, op.str('w'), tensorOps('0', 216, 0, size!, stride!), op.setitem, op.stop);
      await expect(readPytorch(await archiveWith(pkl))).rejects.toThrow(CheckpointFormatError);
    }
  });
});

describe(`restricted unpickler and checkpoint reader: fuzz [${backendName()}]`, () => {
  it('random byte mutations of the valid .pth: a checkpoint or a typed error', async () => {
    await expectNoLeaks(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.nat(FIXTURE.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
          async (mutations) => {
            const bytes = FIXTURE.slice();
            for (const [at, value] of mutations) bytes[at] = value;
            await typedOutcome(async () => drain(await readPytorch(bytes)));
          },
        ),
        RUNS,
      ),
    );
  });

  it('truncations of the valid .pth are typed errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(FIXTURE.length - 1), async (length) => {
        const outcome = await typedOutcome(async () => drain(await readPytorch(FIXTURE.slice(0, length))));
        expect(outcome).toBeInstanceOf(CheckpointFormatError);
      }),
      RUNS,
    );
  });

  it('random mutations of data.pkl behind a valid zip: a checkpoint or a typed error', async () => {
    await expectNoLeaks(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.nat(PICKLE.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
          async (mutations) => {
            const bytes = FIXTURE.slice();
            for (const [at, value] of mutations) bytes[PICKLE_AT + at] = value;
            await typedOutcome(async () => drain(await readPytorch(bytes)));
          },
        ),
        RUNS,
      ),
    );
  });

  it('truncations of data.pkl are typed errors', () => {
    fc.assert(
      fc.property(fc.nat(PICKLE.length - 1), (length) => {
        expect(() => unpickleStateDict(PICKLE.slice(0, length), 'cut')).toThrow(CheckpointFormatError);
      }),
      RUNS,
    );
  });

  it('random opcode streams: a value or a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(opcodeStream, async (pkl) => {
        await typedOutcome(() => unpickleStateDict(pkl, 'stream'));
      }),
      RUNS,
    );
    await expectNoLeaks(() =>
      fc.assert(
        fc.asyncProperty(opcodeStream, async (pkl) => {
          const archive = await archiveWith(pkl);
          await typedOutcome(async () => drain(await readPytorch(archive)));
        }),
        { ...RUNS, numRuns: 100 },
      ),
    );
  });

  it('GLOBAL and STACK_GLOBAL of random names are refused, naming them', () => {
    const part = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('\n'));
    fc.assert(
      fc.property(
        fc.tuple(fc.oneof(part, fc.constantFrom('os', 'posix', 'builtins', 'torch', 'subprocess')), part, fc.boolean()),
        ([module, name, stacked]) => {
          fc.pre(!ALLOWED.has(`${module}.${name}`));
          const ref = stacked ? op.stackGlobal(module, name) : op.global(module, name);
          const outcome = (() => {
            try {
              unpickleStateDict(pickle(op.proto(4), ref, op.str('x'), op.tuple1, op.reduce, op.stop), 'g');
              return undefined;
            } catch (err) {
              return err;
            }
          })();
          expect(outcome).toBeInstanceOf(UnsafePickleError);
          expect((outcome as UnsafePickleError).target).toContain(`${module}.${name}`);
        },
      ),
      RUNS,
    );
  });

  it('REDUCE and NEWOBJ on anything but an allow-listed constructor are refused', () => {
    const callee = fc.oneof(
      fc.integer({ min: 0, max: 255 }).map(op.int),
      fc.string({ maxLength: 5 }).map(op.str),
      fc.constantFrom<Bytes>(op.emptyDict, op.emptyList, op.emptyTuple, op.none, op.newTrue),
      fc.constantFrom<Bytes>(op.global('torch', 'FloatStorage'), op.global('torch', 'float16'), op.global('torch', 'UntypedStorage')),
      fc.constant(tensorOps('0', 216, 0, [216], [1])),
    );
    const args = fc.constantFrom<Bytes>(op.emptyTuple, [...op.str('ls'), ...op.tuple1], [...op.int(1), ...op.int(2), ...op.tuple2]);
    fc.assert(
      fc.property(callee, args, fc.constantFrom<Bytes>(op.reduce, [0x81]), (fn, a, call) => {
        expect(() => unpickleStateDict(pickle(op.proto(), fn, a, call, op.stop), 'r')).toThrow(UnsafePickleError);
      }),
      RUNS,
    );
  });
});
