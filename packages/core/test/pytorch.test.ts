import { Uint8ArrayReader, Uint8ArrayWriter, ZipReader, ZipWriter } from '@zip.js/zip.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, NextDetailError, ValueRangeError } from '@nextdetail/core';
import type { TensorSource } from '../src/checkpoint/stateDict.js';
import { bytesFromBuffer, type ByteSource } from '../src/io/byteSource.js';
import { CheckpointFormatError } from '../src/io/checkpointErrors.js';
import { TORCH_ITEM_BYTES, TorchTensorRef } from '../src/io/pickle.js';
import { UnsafePickleError } from '../src/io/pickleErrors.js';
import { type PytorchCheckpoint, readPytorch } from '../src/io/pytorch.js';
import { readPytorchFile } from '../src/io/pytorchFile.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';

const torchFiles = listFixtures('torch', '.pth');
const hostileFiles = listFixtures('hostile', '');

/** The safetensors twin of a .pth: same stem, with `_nested` dropped (the nested file holds the same dict). */
function siblingOf(pth: string): string {
  return join(dirname(pth), `${basename(pth, '.pth').replace(/_nested$/, '')}.safetensors`);
}

interface Expected {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** Just enough safetensors to read the fixtures: an 8-byte header length, a JSON header, then the data. */
function decodeSafetensors(file: Uint8Array): Map<string, Expected> {
  const headerLength = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLength))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const data = file.subarray(8 + headerLength);
  const out = new Map<string, Expected>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = entry.data_offsets;
    out.set(name, { dtype: entry.dtype, shape: entry.shape, bytes: data.slice(begin, end) });
  }
  return out;
}

/** Bitwise comparison: typed arrays as their bytes, so -0, NaN payloads and every float bit count. */
function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Re-zips a checkpoint's entries, optionally changing them: to test what torch itself never writes. */
async function repack(
  pth: Uint8Array,
  options: { level?: number; zip64?: boolean; edit?: (name: string, data: Uint8Array) => Uint8Array; add?: Record<string, Uint8Array> },
): Promise<Uint8Array> {
  const entries = await new ZipReader(new Uint8ArrayReader(pth), { useWebWorkers: false }).getEntries();
  const writer = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false, level: options.level ?? 0, zip64: options.zip64 ?? false });
  for (const entry of entries) {
    if (entry.directory) continue;
    const data = await entry.getData(new Uint8ArrayWriter(), { useWebWorkers: false });
    await writer.add(entry.filename, new Uint8ArrayReader(options.edit ? options.edit(entry.filename, data) : data));
  }
  const folder = entries[0]!.filename.split('/')[0]!;
  for (const [name, data] of Object.entries(options.add ?? {})) await writer.add(`${folder}/${name}`, new Uint8ArrayReader(data));
  return writer.close();
}

/** Every tensor of the default state dict, as tfjs data and raw, disposed again. */
async function readEverything(ckpt: PytorchCheckpoint): Promise<void> {
  for (const name of ckpt.keys()) {
    const t = await ckpt.tensor(name);
    await t.data();
    t.dispose();
    await ckpt.rawTensor(name);
  }
}

describe(`readPytorch [${backendName()}]`, () => {
  it('finds the torch fixtures', () => {
    expect(torchFiles.length).toBeGreaterThan(0);
    expect(hostileFiles.length).toBeGreaterThan(0);
  });

  for (const pth of torchFiles) {
    it(`${basename(pth)} reproduces ${basename(siblingOf(pth))} exactly`, async () => {
      const expected = decodeSafetensors(new Uint8Array(readFileSync(siblingOf(pth))));
      const ckpt = await readPytorchFile(pth);
      try {
        expect(ckpt.keys().sort()).toEqual([...expected.keys()].sort());
        await expectNoLeaks(async () => {
          for (const [name, want] of expected) {
            const raw = await ckpt.rawTensor(name);
            const t = await ckpt.tensor(name);
            const values = await t.data();
            expect([name, raw.shape, t.shape]).toEqual([name, want.shape, want.shape]);
            if (want.dtype === 'F32') {
              // f16/bf16 are stored widened to F32: the widening must be exact.
              expect([name, t.dtype]).toEqual([name, 'float32']);
              expect(bytesOf(values)).toEqual(want.bytes);
              expect(bytesOf(raw.data)).toEqual(want.bytes);
            } else if (want.dtype === 'I64') {
              expect([name, raw.dtype, t.dtype]).toEqual([name, 'int64', 'int32']);
              expect(bytesOf(raw.data)).toEqual(want.bytes);
              expect(Array.from(values)).toEqual(Array.from(new BigInt64Array(want.bytes.buffer), Number));
            } else {
              // bool is stored as I32 0/1.
              expect([name, want.dtype, raw.dtype, t.dtype]).toEqual([name, 'I32', 'bool', 'bool']);
              expect(Array.from(values)).toEqual(Array.from(new Int32Array(want.bytes.buffer)));
            }
            t.dispose();
          }
        });
      } finally {
        await ckpt.close();
      }
    });
  }

  it('the torch fixtures cover a transposed view and an offset view into a shared storage', async () => {
    const layouts = [];
    for (const pth of torchFiles) {
      const ckpt = await readPytorchFile(pth);
      layouts.push(...ckpt.keys().map((name) => ({ name, ...ckpt.info(name) })));
      await ckpt.close();
    }
    const transposed = layouts.find((l) => l.shape.length === 2 && l.stride[0] === 1 && l.shape[0]! > 1);
    const offset = layouts.find((l) => l.storageOffset > 0);
    expect(transposed).toBeDefined();
    expect(offset).toBeDefined();
    expect(layouts.some((l) => l.storageKey === offset!.storageKey && l.name !== offset!.name)).toBe(true);
  });

  for (const pth of torchFiles.filter((f) => basename(f).includes('_nested'))) {
    it(`${basename(pth)} keeps its state dict under "model" and the rest in root`, async () => {
      const ckpt = await readPytorchFile(pth);
      try {
        const root = ckpt.root as Map<unknown, unknown>;
        expect(root).toBeInstanceOf(Map);
        expect(root.get('epoch')).toBe(7);
        expect(root.get('args')).toEqual(new Map([['depth', 16]]));
        expect(ckpt.stateDict().path).toEqual(['model']);
        expect(ckpt.stateDict('model').keys()).toEqual(ckpt.keys());
        // Both the checkpoint and a state-dict view plug into loadStateDict.
        const sources: TensorSource[] = [ckpt, ckpt.stateDict('model')];
        expect(sources.map((s) => s.keys())).toEqual([ckpt.keys(), ckpt.keys()]);
        const name = ckpt.keys()[0]!;
        const ref = (root.get('model') as Map<string, unknown>).get(name);
        expect(ref).toBeInstanceOf(TorchTensorRef);
        const [a, b] = [await ckpt.rawTensor(ref as TorchTensorRef), await ckpt.rawTensor(name)];
        expect(bytesOf(a.data)).toEqual(bytesOf(b.data));
        expect(() => ckpt.stateDict('epoch')).toThrow(InvalidArgumentError);
        expect(() => ckpt.stateDict(['model', 'nope'])).toThrow(/path/);
      } finally {
        await ckpt.close();
      }
    });
  }

  for (const file of hostileFiles) {
    it(`${basename(file)} is rejected with a typed error and runs nothing`, async () => {
      // The os.system pickle would create a marker file in the working directory if anything executed it.
      const dir = mkdtempSync(join(tmpdir(), 'nextdetail-hostile-'));
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        const error = await (async () => {
          const ckpt = await readPytorchFile(file);
          try {
            await readEverything(ckpt);
          } finally {
            await ckpt.close();
          }
        })().then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error).toBeInstanceOf(NextDetailError);
        expect(readdirSync(dir)).toEqual([]);
      } finally {
        process.chdir(cwd);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('names the refused global, and the tensor whose storage is short', async () => {
    const byName = (part: string) => hostileFiles.find((f) => basename(f).startsWith(part))!;
    await expect(readPytorchFile(byName('os_system'))).rejects.toThrow(UnsafePickleError);
    await expect(readPytorchFile(byName('os_system'))).rejects.toThrow(/\bsystem\b/);
    await expect(readPytorchFile(byName('builtins_eval'))).rejects.toThrow(/builtins\.eval/);
    await expect(readPytorchFile(byName('short_storage'))).rejects.toThrow(CheckpointFormatError);
    await expect(readPytorchFile(byName('short_storage'))).rejects.toThrow(/tensor "[^"]+"/);
    await expect(readPytorchFile(byName('truncated_pickle'))).rejects.toThrow(/truncated/);
    await expect(readPytorchFile(byName('truncated_zip'))).rejects.toThrow(CheckpointFormatError);
  });

  for (const pth of torchFiles) {
    it(`${basename(pth)} reads the same re-zipped with deflate and ZIP64, and from a Blob`, async () => {
      const bytes = readFileSync(pth);
      const reference = await readPytorch(bytes);
      for (const variant of [
        await repack(bytes, { level: 6 }),
        await repack(bytes, { zip64: true }),
        new Blob([bytes]),
      ]) {
        const ckpt = await readPytorch(variant);
        for (const name of reference.keys()) {
          expect(bytesOf((await ckpt.rawTensor(name)).data)).toEqual(bytesOf((await reference.rawTensor(name)).data));
        }
        await ckpt.close();
      }
    });

    it(`${basename(pth)} reads the same when written big-endian`, async () => {
      const bytes = readFileSync(pth);
      const reference = await readPytorch(bytes);
      const itemBytes = new Map(reference.keys().map((k) => [reference.info(k).storageKey, TORCH_ITEM_BYTES[reference.info(k).dtype]]));
      const swapped = await repack(bytes, {
        edit: (name, data) => {
          const size = itemBytes.get(name.split('/data/')[1] ?? '');
          if (!name.includes('/data/') || size === undefined) return data;
          const out = data.slice();
          for (let i = 0; i < out.length; i += size) out.subarray(i, i + size).reverse();
          return out;
        },
        add: { byteorder: new TextEncoder().encode('big') },
      });
      const ckpt = await readPytorch(swapped);
      for (const name of reference.keys()) {
        expect(bytesOf((await ckpt.rawTensor(name)).data)).toEqual(bytesOf((await reference.rawTensor(name)).data));
      }
    });

    it(`${basename(pth)}: an int64 value beyond int32 is a ValueRangeError from tensor() and exact from rawTensor()`, async () => {
      const bytes = readFileSync(pth);
      const reference = await readPytorch(bytes);
      const name = reference.keys().find((k) => reference.info(k).dtype === 'int64');
      if (name === undefined) return;
      const { storageKey, storageOffset } = reference.info(name);
      const big = 2n ** 40n + 3n;
      const edited = await repack(bytes, {
        edit: (entry, data) => {
          if (!entry.endsWith(`/data/${storageKey}`)) return data;
          const out = data.slice();
          new DataView(out.buffer).setBigInt64(storageOffset * 8, big, true);
          return out;
        },
      });
      const ckpt = await readPytorch(edited);
      expect((await ckpt.rawTensor(name)).data[0]).toBe(big);
      await expectNoLeaks(async () => {
        const error = await ckpt.tensor(name).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ValueRangeError);
        expect(String(error)).toContain(JSON.stringify(name));
        expect(String(error)).toContain(String(big));
      });
    });

    it(`${basename(pth)}: storages are read lazily, only the bytes a view spans`, async () => {
      const inner = bytesFromBuffer(readFileSync(pth), basename(pth));
      const reads: Array<[number, number]> = [];
      const logged: ByteSource = { ...inner, read: (offset, length) => (reads.push([offset, length]), inner.read(offset, length)) };
      const ckpt = await readPytorch(logged);
      for (const name of ckpt.keys()) {
        const { shape, stride, dtype } = ckpt.info(name);
        const span = shape.every((d) => d > 0) ? 1 + shape.reduce((s, d, i) => s + (d - 1) * stride[i]!, 0) : 0;
        reads.length = 0;
        await ckpt.rawTensor(name);
        // A 30-byte local header the first time a storage is touched, then exactly the view's span.
        const data = reads.filter(([, length]) => length !== 30);
        expect([name, data.map(([, length]) => length)]).toEqual([name, span === 0 ? [] : [span * TORCH_ITEM_BYTES[dtype]]]);
      }
    });
  }

  it('rejects unknown names, foreign refs and reads after close with typed errors', async () => {
    const ckpt = await readPytorchFile(torchFiles[0]!);
    const other = await readPytorchFile(torchFiles[0]!);
    const ref = [...(other.root as Map<string, unknown>).values()].find((v) => v instanceof TorchTensorRef) as TorchTensorRef;
    expect(() => ckpt.info('no.such.tensor')).toThrow(InvalidArgumentError);
    await expect(ckpt.tensor('no.such.tensor')).rejects.toThrow(/no\.such\.tensor/);
    expect(() => ckpt.info(ref)).toThrow(InvalidArgumentError);
    await ckpt.close();
    await other.close();
    await expect(ckpt.rawTensor(ckpt.keys()[0]!)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(readPytorchFile(join(tmpdir(), 'nextdetail-no-such-file.pth'))).rejects.toThrow(InvalidArgumentError);
  });

  it('explains a legacy (pre-zip) torch.save file and a file that is not a checkpoint', async () => {
    // A bare protocol-2 pickle is what torch.save wrote before PyTorch 1.6.
    const legacy = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);
    await expect(readPytorch(legacy)).rejects.toThrow(/legacy/);
    await expect(readPytorch(new Uint8Array(100))).rejects.toThrow(CheckpointFormatError);
    const renamed = await (async () => {
      const writer = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false, level: 0 });
      await writer.add('x/notes.txt', new Uint8ArrayReader(new TextEncoder().encode('hi')));
      return writer.close();
    })();
    await expect(readPytorch(renamed)).rejects.toThrow(/data\.pkl/);
  });

  it('tensor() leaves no tensors behind, also when it fails', async () => {
    const ckpt = await readPytorchFile(torchFiles[0]!);
    await expectNoLeaks(async () => {
      await readEverything(ckpt);
      await ckpt.tensor('missing').catch(() => undefined);
    });
    await ckpt.close();
  });
});
