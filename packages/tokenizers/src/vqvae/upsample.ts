import * as tf from '@tensorflow/tfjs-core';
import type { BlockStyle } from './blockStyle.js';
import { Conv2d } from './conv2d.js';
import type { LoadedParameters, ParameterSpecs } from './parameters.js';

// FoundationVision/VAR@78b9539:models/basic_vae.py Upsample2x (jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py
// Upsample with_conv=True is the same)
export class Upsample {
  static spec(style: BlockStyle, name: string, channels: number): ParameterSpecs {
    return Conv2d.spec(style.convPath(`${name}.conv`), channels, channels, 3);
  }

  static load(style: BlockStyle, params: LoadedParameters, name: string): Upsample {
    return new Upsample(Conv2d.load(params, style.convPath(`${name}.conv`)));
  }

  private constructor(private readonly conv: Conv2d) {}

  apply(x_BHWC: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.conv.apply(nearestDouble(x_BHWC)));
  }

  dispose(): void {
    this.conv.dispose();
  }
}

/**
 * F.interpolate(scale_factor=2, mode='nearest'): output pixel i reads input ⌊i/2⌋, as copies stacked along W then H.
 * Not tf.image.resizeNearestNeighbor: the values are the same, but tfjs-backend-cpu's gradient of it is wrong at this
 * setting (neither align-corners nor half-pixel centres), which slowed CPU training several-fold.
 */
export function nearestDouble(x_BHWC: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, C] = x_BHWC.shape;
    const wide_BHWC = tf.reshape(tf.stack([x_BHWC, x_BHWC], 3), [B, H, 2 * W, C]);
    return tf.reshape(tf.stack([wide_BHWC, wide_BHWC], 2), [B, 2 * H, 2 * W, C]) as tf.Tensor4D;
  });
}
