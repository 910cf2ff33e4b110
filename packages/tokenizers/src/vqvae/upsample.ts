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
    return tf.tidy(() => {
      const [, H, W] = x_BHWC.shape;
      // At an exact ×2 (no align-corners, no half-pixel centres) output pixel i reads input ⌊i/2⌋, which is
      // F.interpolate(mode='nearest').
      return this.conv.apply(tf.image.resizeNearestNeighbor(x_BHWC, [2 * H, 2 * W]));
    });
  }

  dispose(): void {
    this.conv.dispose();
  }
}
