import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError, resize } from '@nextdetail/core';
import type { Raster } from '../raster.js';

/**
 * The keep mask of an in-painting, float32 [H, W] on the image's grid (VAR demo_zero_shot_edit.ipynb: 1 keeps the
 * image's tokens, 0 regenerates; the sampler resizes it to every step's grid). From `--box x,y,w,h`: 0 inside the box.
 * From a mask PNG: white (or any bright value) marks the hole, so keep = 1 − grey, resized bilinearly to the image.
 */
export function keepMask(source: { box?: number[]; mask?: Raster }, [H, W]: readonly [number, number]): tf.Tensor2D {
  const { box, mask } = source;
  if ((box === undefined) === (mask === undefined)) {
    throw new InvalidArgumentError('--mask', 'either --mask <png> or --box x,y,w,h (exactly one)', box ? 'both' : 'neither');
  }
  if (box !== undefined) {
    const [x, y, w, h] = box;
    const inside = box.length === 4 && w! > 0 && h! > 0 && x! >= 0 && y! >= 0 && x! + w! <= W && y! + h! <= H;
    if (!inside) throw new InvalidArgumentError('--box', `x,y,w,h with a non-empty box inside the ${W}×${H} image`, box.join(','));
    return tf.tidy(() => {
      const hole = tf.pad(tf.ones([h!, w!]), [[y!, H - y! - h!], [x!, W - x! - w!]]);
      return tf.sub(1, hole) as tf.Tensor2D;
    });
  }
  const m = mask!;
  return tf.tidy(() => {
    const grey = tf.mean(tf.tensor3d(m.data, [m.height, m.width, m.channels]), 2, true);
    const sized = m.height === H && m.width === W ? grey : resize(tf.expandDims(grey, 0) as tf.Tensor4D, [H, W], 'bilinear').squeeze([0]);
    return tf.sub(1, tf.reshape(sized, [H, W])) as tf.Tensor2D;
  });
}
