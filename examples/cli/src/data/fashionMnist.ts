import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '@nextdetail/core';
import { readIdx } from './idx.js';
import type { LabelledImages } from './labelledImages.js';

/** Where Debian's `dataset-fashion-mnist` puts the files (scripts/setup-datasets.sh installs it). */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** zalandoresearch/fashion-mnist README: label → description. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export interface FashionMnistOptions {
  split?: 'train' | 'test';
  /** Output side: 28 keeps the originals, larger sizes pad with the black background on every side (default 32). */
  size?: number;
  /** Only the first `limit` images. */
  limit?: number;
  dir?: string;
}

/** Fashion-MNIST (60k train / 10k test, 28 × 28 grey, 10 classes), padded to `size` so a 16× tokenizer fits it. */
export function loadFashionMnist(options: FashionMnistOptions = {}): LabelledImages {
  const { split = 'train', size = 32, limit, dir = FASHION_MNIST_DIR } = options;
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesPath = join(dir, `${prefix}-images-idx3-ubyte.gz`);
  if (!existsSync(imagesPath)) {
    throw new InvalidArgumentError('dir', `Fashion-MNIST in ${dir} (run scripts/setup-datasets.sh)`, 'no such files');
  }
  const images = readIdx(imagesPath);
  const labels = readIdx(join(dir, `${prefix}-labels-idx1-ubyte.gz`));
  const [total, h, w] = images.dims as [number, number, number];
  if (size < Math.max(h, w) || (size - h) % 2 !== 0) {
    throw new InvalidArgumentError('size', `≥ ${h} with an even margin`, String(size));
  }
  const count = Math.min(limit ?? total, total);
  const pad = (size - h) / 2;
  const out = new Uint8Array(count * size * size);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < h; y++) {
      const src = (n * h + y) * w;
      out.set(images.data.subarray(src, src + w), (n * size + y + pad) * size + pad);
    }
  }
  return {
    images: out,
    labels: Int32Array.from(labels.data.subarray(0, count)),
    count,
    height: size,
    width: size,
    channels: 1,
    classNames: FASHION_MNIST_CLASSES,
  };
}
