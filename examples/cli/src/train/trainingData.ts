import { existsSync } from 'node:fs';
import { InvalidArgumentError, RandomGenerator } from '@nextdetail/core';
import { permutation } from '../classifier/trainClassifier.js';
import { loadFashionMnist } from '../data/fashionMnist.js';
import { loadImageFolder } from '../data/imageFolder.js';
import type { LabelledImages } from '../data/labelledImages.js';

/** Where the training images come from: Fashion-MNIST padded to 32×32, or a folder with one sub-folder per class. */
export interface DataFlags {
  data?: string;
  imageSize: number;
  limit?: number;
}

/** The training set the flags name, at most `limit` images (a folder's are taken in a seeded shuffle's order). */
export async function loadTrainingData({ data, imageSize, limit }: DataFlags, seed: number): Promise<LabelledImages> {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new InvalidArgumentError('--limit', 'a positive integer', String(limit));
  if (data === undefined) {
    if (imageSize !== 32) throw new InvalidArgumentError('--image-size', '32 for Fashion-MNIST (28 px padded)', String(imageSize));
    return loadFashionMnist({ split: 'train', size: 32, ...(limit !== undefined ? { limit } : {}) });
  }
  if (!existsSync(data)) throw new InvalidArgumentError('--data', 'a folder of PNG/JPEG images with class sub-folders', JSON.stringify(data));
  const all = await loadImageFolder(data, imageSize);
  if (limit === undefined || limit >= all.count) return all;
  // Folders are sorted by class: a prefix would hold only the first classes.
  const keep = permutation(all.count, new RandomGenerator(seed).fork(DATA_STREAM)).slice(0, limit);
  const pixels = all.height * all.width * all.channels;
  const images = new Uint8Array(limit * pixels);
  keep.forEach((n, i) => images.set(all.images.subarray(n * pixels, (n + 1) * pixels), i * pixels));
  return { ...all, images, labels: Int32Array.from(keep, (n) => all.labels[n]!), count: limit };
}

const DATA_STREAM = 7;

/** Steps per pass over `count` images (a last partial batch is dropped; at least one step). */
export function stepsPerEpoch(count: number, batch: number): number {
  return Math.max(1, Math.floor(count / batch));
}

/**
 * The image indices of training step `step`: epoch e is a seeded permutation drawn from (seed, e) alone, so the batch
 * of any step — and a resumed run's data position — follows from the step number.
 */
export function batchIndices(count: number, batch: number, seed: number, step: number): number[] {
  const perEpoch = stepsPerEpoch(count, batch);
  const epoch = Math.floor(step / perEpoch);
  const order = permutation(count, new RandomGenerator(seed).fork(DATA_STREAM).fork(epoch + 1));
  const start = (step % perEpoch) * batch;
  return Array.from({ length: Math.min(batch, count) }, (_, i) => order[(start + i) % count]!);
}
