import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchTensors } from '../src/data/labelledImages';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../src/data/fashionMnist';
import { loadImageFolder } from '../src/data/imageFolder';
import { parseIdx, readIdx } from '../src/data/idx';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function idxBytes(dims: number[], data: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header.set([0, 0, 8, dims.length]);
  const view = new DataView(header.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return new Uint8Array([...header, ...data]);
}

describe('IDX files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nextdetail-idx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses dimensions (big-endian) and data, gzipped or not', () => {
    const bytes = idxBytes([2, 1, 3], [1, 2, 3, 4, 5, 6]);
    writeFileSync(join(dir, 'a.idx'), bytes);
    writeFileSync(join(dir, 'a.idx.gz'), gzipSync(bytes));
    for (const f of ['a.idx', 'a.idx.gz']) {
      const a = readIdx(join(dir, f));
      expect(a.dims).toEqual([2, 1, 3]);
      expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it('rejects other types, bad magic and truncated data with errors that say what was expected', () => {
    expect(() => parseIdx(new Uint8Array([1, 0, 8, 1]))).toThrow(/two zero bytes/);
    expect(() => parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]))).toThrow(/type 0x08/);
    expect(() => parseIdx(idxBytes([4], [1, 2]))).toThrow(/4 data bytes/);
  });
});

describe('Fashion-MNIST (Debian dataset-fashion-mnist)', () => {
  it('loads a split padded to 32 × 32 with the ten class names', () => {
    const set = loadFashionMnist({ split: 'test', limit: 200 });
    expect(set.count).toBe(200);
    expect([set.height, set.width, set.channels]).toEqual([32, 32, 1]);
    expect(set.images.length).toBe(200 * 32 * 32);
    expect(new Set(set.labels).size).toBe(10);
    expect(set.classNames).toEqual(FASHION_MNIST_CLASSES);
    // The 2-pixel frame is background; the content is not blank.
    for (let n = 0; n < set.count; n++) {
      const img = set.images.subarray(n * 1024, (n + 1) * 1024);
      for (let i = 0; i < 32; i++) expect([img[i], img[32 + i], img[31 * 32 + i], img[i * 32], img[i * 32 + 31]]).toEqual([0, 0, 0, 0, 0]);
      expect(Math.max(...img)).toBeGreaterThan(100);
    }
    expect(loadFashionMnist({ split: 'train', limit: 10, size: 28 }).images.length).toBe(10 * 28 * 28);
    expect(() => loadFashionMnist({ size: 31 })).toThrow(/size/);
  });

  it('gives NHWC float batches in [−1, 1] with grey repeated into RGB, and int32 labels', async () => {
    const set = loadFashionMnist({ split: 'test', limit: 8 });
    const { images_BHWC, labels_B } = batchTensors(set, [3, 5]);
    expect(images_BHWC.shape).toEqual([2, 32, 32, 3]);
    const px = (await images_BHWC.array()) as number[][][][];
    expect(px[0]![0]![0]).toEqual([-1, -1, -1]);
    const flat = await images_BHWC.data();
    expect(Math.max(...flat)).toBeLessThanOrEqual(1);
    expect(Array.from(await labels_B.data())).toEqual([set.labels[3], set.labels[5]]);
    tf.dispose([images_BHWC, labels_B]);
  });
});

describe('image folders', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'nextdetail-folder-'));
    mkdirSync(join(root, 'cats'));
    mkdirSync(join(root, 'dogs'));
    const png = new PNG({ width: 12, height: 8 });
    png.data.fill(255);
    writeFileSync(join(root, 'cats', 'a.png'), PNG.sync.write(png));
    const rgba = Buffer.alloc(8 * 8 * 4, 0);
    for (let p = 0; p < 64; p++) rgba[4 * p] = 200;
    writeFileSync(join(root, 'dogs', 'b.jpg'), jpeg.encode({ data: rgba, width: 8, height: 8 }, 95).data);
    writeFileSync(join(root, 'dogs', 'notes.txt'), 'not an image');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads PNG and JPEG by class sub-folder, centre-cropped and resized', async () => {
    const set = await loadImageFolder(root, 4);
    expect(set.classNames).toEqual(['cats', 'dogs']);
    expect(Array.from(set.labels)).toEqual([0, 1]);
    expect([set.count, set.height, set.width, set.channels]).toEqual([2, 4, 4, 3]);
    expect(Array.from(set.images.subarray(0, 3))).toEqual([255, 255, 255]);
    const dog = set.images.subarray(48, 51);
    expect(Math.abs(dog[0]! - 200)).toBeLessThan(6);
    expect(dog[1]!).toBeLessThan(10);
  });

  it('rejects a folder without images', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'nextdetail-empty-'));
    await expect(loadImageFolder(empty, 4)).rejects.toThrow(/PNG or JPEG/);
    rmSync(empty, { recursive: true });
  });
});
