import type * as tf from '@tensorflow/tfjs-core';
import { checkTensor, describeShape, ShapeError } from '@nextdetail/core';
import { IMAGE_CHANNELS } from './encoder.js';

/** An encoder input: float32 [B, H, W, 3] with H and W positive multiples of the downsampling factor 2^(levels−1). */
export function checkImage(img_BHWC: tf.Tensor4D, levels: number): void {
  checkTensor(img_BHWC, 'img_BHWC', { rank: 4, dtype: 'float32' });
  const [, H, W, C] = img_BHWC.shape;
  if (C !== IMAGE_CHANNELS) {
    throw new ShapeError('img_BHWC', `[B, H, W, ${IMAGE_CHANNELS}] (NHWC, RGB)`, `shape ${describeShape(img_BHWC.shape)}`);
  }
  const f = 2 ** (levels - 1);
  if (H % f !== 0 || W % f !== 0 || H === 0 || W === 0) {
    throw new ShapeError(
      'img_BHWC',
      `height and width that are positive multiples of ${f} (the encoder halves them ${levels - 1} times)`,
      `shape ${describeShape(img_BHWC.shape)}`,
    );
  }
}

/** A decoder input `argument`: float32 [B, h, w, channels] with h, w > 0. */
export function checkLatent(latent_BHWC: tf.Tensor4D, argument: string, channels: number, what: string): void {
  checkTensor(latent_BHWC, argument, { rank: 4, dtype: 'float32' });
  const [, H, W, C] = latent_BHWC.shape;
  if (C !== channels || H === 0 || W === 0) {
    throw new ShapeError(argument, `[B, h, w, ${channels}] (NHWC, ${what} last)`, `shape ${describeShape(latent_BHWC.shape)}`);
  }
}
