import * as tf from '@tensorflow/tfjs-core';
import type { BlockStyle } from './blockStyle.js';
import { Conv2d } from './conv2d.js';
import type { LoadedParameters, ParameterSpecs } from './parameters.js';

// FoundationVision/VAR@78b9539:models/basic_vae.py Downsample2x (jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py
// Downsample with_conv=True is the same)
export class Downsample {
  static spec(style: BlockStyle, name: string, channels: number): ParameterSpecs {
    return Conv2d.spec(style.convPath(`${name}.conv`), channels, channels, 3);
  }

  static load(style: BlockStyle, params: LoadedParameters, name: string): Downsample {
    return new Downsample(Conv2d.load(params, style.convPath(`${name}.conv`)));
  }

  private constructor(private readonly conv: Conv2d) {}

  apply(x_BHWC: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      // The reference pads only right and bottom (asymmetric), which no tfjs padding mode reproduces.
      const padded_BHWC = tf.pad(x_BHWC, [[0, 0], [0, 1], [0, 1], [0, 0]]);
      return this.conv.apply(padded_BHWC, 2, 'valid');
    });
  }

  dispose(): void {
    this.conv.dispose();
  }
}
