import * as tf from '@tensorflow/tfjs';
import { resize } from '@nextdetail/core';
import type { Raster } from '../raster.js';

/** Generated images NHWC in [−1, 1] (the tokenizers' range) → one raster per image in [0, 1]. */
export async function rastersFromImages(images_BHWC: tf.Tensor4D): Promise<Raster[]> {
  const [B, H, W, C] = images_BHWC.shape;
  if (C !== 1 && C !== 3) throw new Error(`expected 1 or 3 channels, got shape [${images_BHWC.shape}]`);
  const unit = tf.tidy(() => tf.clipByValue(tf.div(tf.add(images_BHWC, 1), 2), 0, 1));
  const data = (await unit.data()) as Float32Array;
  unit.dispose();
  const n = H * W * C;
  return Array.from({ length: B }, (_, b) => ({ width: W, height: H, channels: C, data: data.slice(b * n, (b + 1) * n) }));
}

/**
 * Rasters in [0, 1] → NHWC RGB in [−1, 1] at `size` [H, W] (bicubic when a raster has another size, as the
 * tokenizers' training images were made).
 */
export function imagesFromRasters(rasters: readonly Raster[], size: readonly [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const images = rasters.map((r) => {
      let x: tf.Tensor4D = tf.tensor4d(r.data, [1, r.height, r.width, r.channels]);
      if (r.channels === 1) x = tf.tile(x, [1, 1, 1, 3]);
      if (r.height !== size[0] || r.width !== size[1]) x = resize(x, size, 'bicubic');
      return tf.clipByValue(tf.sub(tf.mul(x, 2), 1), -1, 1);
    });
    return tf.concat(images, 0) as tf.Tensor4D;
  });
}
