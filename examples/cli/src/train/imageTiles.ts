import * as tf from '@tensorflow/tfjs';
import type { Raster } from '../raster.js';

/** A batch [B, H, W, 3] in [−1, 1] as B RGB rasters in [0, 1] (clamped); the batch is left alone. */
export async function imageTiles(images_BHWC: tf.Tensor4D): Promise<Raster[]> {
  const [b, height, width] = images_BHWC.shape;
  const unit = tf.tidy(() => tf.clipByValue(tf.div(tf.add(images_BHWC, 1), 2), 0, 1));
  const data = await unit.data<'float32'>();
  unit.dispose();
  const size = height * width * 3;
  return Array.from({ length: b }, (_, i) => ({ width, height, channels: 3 as const, data: data.slice(i * size, (i + 1) * size) }));
}
