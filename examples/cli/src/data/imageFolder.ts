import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError, resize } from '@nextdetail/core';
import jpeg from 'jpeg-js';
import { decodePng } from '../png.js';
import type { Raster } from '../raster.js';
import type { LabelledImages } from './labelledImages.js';

const DECODERS: Record<string, (bytes: Buffer) => Raster> = {
  '.png': decodePng,
  '.jpg': decodeJpeg,
  '.jpeg': decodeJpeg,
};

function decodeJpeg(bytes: Buffer): Raster {
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  const data = new Float32Array(img.width * img.height * 3);
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++) data[3 * p + c] = img.data[4 * p + c]! / 255;
  }
  return { width: img.width, height: img.height, channels: 3, data };
}

/**
 * A folder of PNG/JPEG images, one sub-folder per class (`root/<class>/<image>`, classes in sorted order; images
 * directly under `root` form a single unnamed class). Each image is centre-cropped to a square and resized to
 * `size` × `size` (area filter when shrinking, bicubic when enlarging).
 */
export async function loadImageFolder(root: string, size: number): Promise<LabelledImages> {
  const entries = readdirSync(root).sort();
  const classDirs = entries.filter((e) => statSync(join(root, e)).isDirectory());
  const groups = classDirs.length > 0 ? classDirs.map((c) => [c, join(root, c)] as const) : [['images', root] as const];
  const files: { path: string; label: number }[] = [];
  groups.forEach(([, dir], label) => {
    for (const f of readdirSync(dir).sort()) if (DECODERS[extname(f).toLowerCase()]) files.push({ path: join(dir, f), label });
  });
  if (files.length === 0) throw new InvalidArgumentError('root', 'a folder with PNG or JPEG images', root);
  const images = new Uint8Array(files.length * size * size * 3);
  for (const [n, { path }] of files.entries()) {
    const raster = DECODERS[extname(path).toLowerCase()]!(readFileSync(path));
    images.set(await squareBytes(raster, size), n * size * size * 3);
  }
  return {
    images,
    labels: Int32Array.from(files, (f) => f.label),
    count: files.length,
    height: size,
    width: size,
    channels: 3,
    classNames: groups.map(([name]) => name),
  };
}

async function squareBytes(raster: Raster, size: number): Promise<Uint8Array> {
  const side = Math.min(raster.width, raster.height);
  const top = Math.floor((raster.height - side) / 2);
  const left = Math.floor((raster.width - side) / 2);
  const bytes = tf.tidy(() => {
    const img = tf.tensor4d(raster.data, [1, raster.height, raster.width, 3]);
    const crop = tf.slice(img, [0, top, left, 0], [1, side, side, 3]) as tf.Tensor4D;
    const resized = side === size ? crop : resize(crop, [size, size], side > size ? 'area' : 'bicubic');
    return tf.clipByValue(tf.round(tf.mul(resized, 255)), 0, 255);
  });
  const out = Uint8Array.from(await bytes.data());
  bytes.dispose();
  return out;
}
