import { existsSync, statSync } from 'node:fs';
import { InvalidArgumentError } from '@nextdetail/core';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../data/fashionMnist.js';
import { loadImageFolder } from '../data/imageFolder.js';
import type { LabelledImages } from '../data/labelledImages.js';

/** The side the classifier reads; folders are loaded at it. */
export const EVAL_SIZE = 32;

/**
 * An image set named on the command line: `fashion-mnist:test` or `fashion-mnist:train` (optionally
 * `fashion-mnist:test@<dir>`), or a folder of PNG/JPEG images (class sub-folders give labels). At most `limit` images.
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
    set = await loadImageFolder(spec, EVAL_SIZE);
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
