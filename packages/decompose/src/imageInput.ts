import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, checkValues, describeShape, InvalidArgumentError, ShapeError } from '@nextdetail/core';

/** How pixel values are scaled: `unit` is [0, 1], `byte` is [0, 255]. */
export type ValueRange = 'unit' | 'byte';

const RANGE_MAX: Record<ValueRange, number> = { unit: 1, byte: 255 };

export interface NormalisedImage {
  /** float32 NHWC in [0, 1]. */
  batch: tf.Tensor4D;
  /** Puts a result back into the caller's rank and value range (a new tensor). */
  restore: (x: tf.Tensor4D) => tf.Tensor;
  /** Puts a result back into the caller's rank only, for range-free fields such as edge maps (a new tensor). */
  restoreRank: (x: tf.Tensor4D) => tf.Tensor;
}

/**
 * Validates an image argument — [H, W, C] or [B, H, W, C], C ∈ {1, 3}, H and W ≥ `minSide`, finite values inside the
 * declared range — and returns it as an NHWC float32 batch in [0, 1].
 */
export async function normaliseImage(
  image: unknown,
  argument: string,
  range: ValueRange,
  minSide: number,
): Promise<NormalisedImage> {
  if (range !== 'unit' && range !== 'byte') {
    throw new InvalidArgumentError('options.range', '"unit" ([0, 1]) or "byte" ([0, 255])', JSON.stringify(range));
  }
  checkTensor(image, argument, { rank: [3, 4], dtype: ['float32', 'int32'] });
  const shape = image.shape;
  const [h, w, c] = shape.slice(-3) as [number, number, number];
  if (c !== 1 && c !== 3) {
    throw new ShapeError(argument, `[B, H, W, C] or [H, W, C] with C = 1 or 3 channels (NHWC)`, `${describeShape(shape)} (C = ${c})`);
  }
  if (h < minSide || w < minSide) {
    throw new ShapeError(argument, `height and width ≥ ${minSide}`, `${describeShape(shape)}`);
  }
  if (image.rank === 4 && shape[0] === 0) throw new ShapeError(argument, 'a non-empty batch', describeShape(shape));
  const max = RANGE_MAX[range];
  await checkValues(image, argument, {
    min: 0,
    max,
    label: `values in [0, ${max}] (options.range = "${range}")`,
  });
  const rank3 = image.rank === 3;
  const batch = tf.tidy(() => {
    const x = tf.cast(rank3 ? tf.expandDims(image, 0) : image, 'float32');
    return (max === 1 ? tf.clone(x) : tf.div(x, max)) as tf.Tensor4D;
  });
  const restoreRank = (x: tf.Tensor4D): tf.Tensor => tf.tidy(() => (rank3 ? tf.squeeze(x, [0]) : tf.clone(x)));
  const restore = (x: tf.Tensor4D): tf.Tensor =>
    tf.tidy(() => restoreRank((max === 1 ? x : tf.mul(x, max)) as tf.Tensor4D));
  return { batch, restore, restoreRank };
}
