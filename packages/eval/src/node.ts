/**
 * Node-only entry: everything in the main entry plus files — image folders (PNG/JPEG), weights and statistics on disk.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, checkNumber } from '@nextdetail/core';
import { bytesFromFile } from '@nextdetail/core/node';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { AccumulatorState, FeatureStatistics } from './featureStatistics.js';
import type { FidInception } from './inception/fidInception.js';
import { loadFidInception, loadFromSource } from './loadFidInception.js';
import { decodeAccumulatorNpz, decodeStatisticsNpz, encodeAccumulatorNpz, encodeStatisticsNpz } from './statisticsFiles.js';
import { decodeStatisticsSafetensors, encodeStatisticsSafetensors } from './statisticsSafetensors.js';

export * from './index.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** The image files (PNG, JPEG) directly inside `dir`, sorted by name. */
export async function listImageFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    throw new InvalidArgumentError('dir', 'a readable folder', `${JSON.stringify(dir)} (${err instanceof Error ? err.message : String(err)})`);
  });
  return entries
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => join(dir, e.name))
    .sort();
}

/** An RGB image as HWC bytes. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Decodes a PNG or JPEG file to RGB (alpha dropped, grey replicated; 16-bit PNGs reduced to 8 bits by pngjs). */
export async function readImageFile(path: string): Promise<RgbImage> {
  const bytes = await readFile(path);
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  let rgba: { width: number; height: number; data: Uint8Array };
  if (isPng) rgba = PNG.sync.read(bytes);
  else if (isJpeg) rgba = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  else throw new InvalidArgumentError('path', 'a PNG or JPEG file', JSON.stringify(path));
  const { width, height } = rgba;
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    data[3 * p] = rgba.data[4 * p]!;
    data[3 * p + 1] = rgba.data[4 * p + 1]!;
    data[3 * p + 2] = rgba.data[4 * p + 2]!;
  }
  return { width, height, data };
}

/**
 * Batches of images [B, H, W, 3] (float32, [0, 255]) from files, in order. A batch ends early where the image size
 * changes, so folders of mixed sizes work. The consumer disposes each batch.
 */
export async function* imageBatches(files: readonly string[], batchSize = 50): AsyncGenerator<tf.Tensor4D> {
  checkNumber(batchSize, 'batchSize', { integer: true, min: 1 });
  let pending: RgbImage[] = [];
  const flush = (): tf.Tensor4D => {
    const { width, height } = pending[0]!;
    const data = new Float32Array(pending.length * width * height * 3);
    pending.forEach((img, i) => data.set(img.data, i * width * height * 3));
    const batch = tf.tensor4d(data, [pending.length, height, width, 3]);
    pending = [];
    return batch;
  };
  for (const file of files) {
    const img = await readImageFile(file);
    if (pending.length > 0 && (pending[0]!.width !== img.width || pending[0]!.height !== img.height)) yield flush();
    pending.push(img);
    if (pending.length === batchSize) yield flush();
  }
  if (pending.length > 0) yield flush();
}

/** FID-Inception weights from a path on disk or an http(s) URL (.pth or safetensors; see loadFidInception). */
export async function loadFidInceptionFile(pathOrUrl: string): Promise<FidInception> {
  if (/^https?:/.test(pathOrUrl)) return loadFidInception(pathOrUrl);
  return loadFromSource(await bytesFromFile(pathOrUrl));
}

/** Saves statistics as `.npz` (numpy-readable `mu`, `sigma`) or, for a `.safetensors` path, float64 safetensors. */
export async function saveStatistics(path: string, stats: FeatureStatistics): Promise<void> {
  const bytes = path.endsWith('.safetensors') ? await encodeStatisticsSafetensors(stats) : await encodeStatisticsNpz(stats);
  await writeFile(path, bytes);
}

/** Loads statistics from `.npz` (reference tools' files included) or safetensors. */
export async function loadStatistics(path: string, suffix = ''): Promise<FeatureStatistics> {
  const bytes = new Uint8Array(await readFile(path));
  return path.endsWith('.safetensors') ? decodeStatisticsSafetensors(bytes, path) : decodeStatisticsNpz(bytes, suffix, path);
}

/** Saves a shard's accumulator (count, Σx, Σxxᵀ) as `.npz` for merging later. */
export async function saveAccumulatorState(path: string, state: AccumulatorState): Promise<void> {
  await writeFile(path, await encodeAccumulatorNpz(state));
}

export async function loadAccumulatorState(path: string): Promise<AccumulatorState> {
  return decodeAccumulatorNpz(new Uint8Array(await readFile(path)), path);
}
