import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { InvalidArgumentError } from '@nextdetail/core';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../data/fashionMnist.js';
import { loadImageFolder } from '../data/imageFolder.js';
import type { LabelledImages } from '../data/labelledImages.js';

/** The side the classifier reads; folders are loaded at it. */
export const EVAL_SIZE = 32;

/**
 * An image set named on the command line: `fashion-mnist:test` or `fashion-mnist:train` (optionally
 * `fashion-mnist:test@<dir>`), or a folder of PNG/JPEG images (class sub-folders give labels; 28 × 28 PNGs are padded to
 * 32 × 32 like Fashion-MNIST, other images centre-cropped and resized). At most `limit` images.
 */
export async function loadImageSet(spec: string, flag: string, limit?: number): Promise<LabelledImages> {
  const fashion = /^fashion-mnist:(train|test)(?:@(.+))?$/.exec(spec);
  let set: LabelledImages;
  if (fashion) {
    const dir = fashion[2] ?? FASHION_MNIST_DIR;
    try {
      set = loadFashionMnist({ split: fashion[1] as 'train' | 'test', size: EVAL_SIZE, limit, dir });
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(flag, err.expected, spec);
      throw err;
    }
    return set;
  }
  if (!existsSync(spec) || !statSync(spec).isDirectory()) {
    throw new InvalidArgumentError(flag, 'fashion-mnist:test, fashion-mnist:train or a folder of PNG/JPEG images', JSON.stringify(spec));
  }
  try {
    // 28 × 28 images are taken to be Fashion-MNIST-like and padded as the classifier saw them in training.
    set = firstImageSide(spec) === 28 ? padTo(await loadImageFolder(spec, 28), EVAL_SIZE) : await loadImageFolder(spec, EVAL_SIZE);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(flag, err.expected, JSON.stringify(spec));
    throw err;
  }
  if (limit === undefined || limit >= set.count) return set;
  const n = EVAL_SIZE * EVAL_SIZE * set.channels;
  return { ...set, count: limit, images: set.images.slice(0, limit * n), labels: set.labels.slice(0, limit) };
}

/**
 * The labels of `set` as Fashion-MNIST classes: each of its class names matched to one of `classNames` (by name, case
 * insensitively and with "/" written "-" as in folder names, or as a numeric id). Undefined when some class has no match (e.g. a folder without class folders).
 */
export function labelsAs(set: LabelledImages, classNames: readonly string[]): Int32Array | undefined {
  const map = set.classNames.map((name) => {
    const norm = (n: string) => n.toLowerCase().replaceAll('/', '-');
    const byName = classNames.findIndex((c) => norm(c) === norm(name));
    if (byName >= 0) return byName;
    return /^\d+$/.test(name) && Number(name) < classNames.length ? Number(name) : -1;
  });
  if (map.some((m) => m < 0)) return undefined;
  return Int32Array.from(set.labels, (l) => map[l]!);
}

/** The side of the first PNG under `root` (or in its first class folder) if it is square, read from its header. */
function firstImageSide(root: string): number | undefined {
  const find = (dir: string, depth: number): string | undefined => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) {
        if (depth === 0) {
          const inner = find(path, 1);
          if (inner) return inner;
        }
      } else if (extname(entry).toLowerCase() === '.png') return path;
    }
    return undefined;
  };
  const file = find(root, 0);
  if (file === undefined) return undefined;
  const header = Buffer.alloc(24);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 24, 0);
  } finally {
    closeSync(fd);
  }
  // PNG: 8-byte signature, then the IHDR chunk's length and type, then width and height (big-endian).
  const width = header.readUInt32BE(16);
  return width === header.readUInt32BE(20) ? width : undefined;
}

/** Pads every image of `set` with black on all sides to `size` × `size` (Fashion-MNIST's background). */
function padTo(set: LabelledImages, size: number): LabelledImages {
  const { height: h, width: w, channels: c } = set;
  const top = Math.floor((size - h) / 2);
  const left = Math.floor((size - w) / 2);
  const images = new Uint8Array(set.count * size * size * c);
  for (let n = 0; n < set.count; n++) {
    for (let y = 0; y < h; y++) {
      const from = ((n * h + y) * w) * c;
      images.set(set.images.subarray(from, from + w * c), ((n * size + y + top) * size + left) * c);
    }
  }
  return { ...set, images, height: size, width: size };
}
