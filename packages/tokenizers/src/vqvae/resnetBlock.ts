import * as tf from '@tensorflow/tfjs-core';
import { Conv2d } from './conv2d.js';
import { GroupNorm } from './groupNorm.js';
import type { LoadedParameters, ParameterSpecs } from './parameters.js';
import { silu } from './silu.js';

// FoundationVision/VAR@78b9539:models/basic_vae.py ResnetBlock (dropout is 0 in VAR's VAE, so it is left out)
export class ResnetBlock {
  static spec(name: string, inChannels: number, outChannels: number): ParameterSpecs {
    return {
      ...GroupNorm.spec(`${name}.norm1`, inChannels),
      ...Conv2d.spec(`${name}.conv1`, inChannels, outChannels, 3),
      ...GroupNorm.spec(`${name}.norm2`, outChannels),
      ...Conv2d.spec(`${name}.conv2`, outChannels, outChannels, 3),
      // PyTorch uses nn.Identity (no parameters) when the width does not change.
      ...(inChannels !== outChannels ? Conv2d.spec(`${name}.nin_shortcut`, inChannels, outChannels, 1) : {}),
    };
  }

  static load(params: LoadedParameters, name: string, inChannels: number, outChannels: number): ResnetBlock {
    return new ResnetBlock(
      GroupNorm.load(params, `${name}.norm1`),
      Conv2d.load(params, `${name}.conv1`),
      GroupNorm.load(params, `${name}.norm2`),
      Conv2d.load(params, `${name}.conv2`),
      inChannels !== outChannels ? Conv2d.load(params, `${name}.nin_shortcut`) : null,
    );
  }

  private constructor(
    private readonly norm1: GroupNorm,
    private readonly conv1: Conv2d,
    private readonly norm2: GroupNorm,
    private readonly conv2: Conv2d,
    private readonly ninShortcut: Conv2d | null,
  ) {}

  apply(x_BHWC: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const h_BHWC = this.conv1.apply(silu(this.norm1.apply(x_BHWC)));
      const residual_BHWC = this.conv2.apply(silu(this.norm2.apply(h_BHWC)));
      const shortcut_BHWC = this.ninShortcut ? this.ninShortcut.apply(x_BHWC) : x_BHWC;
      return tf.add(shortcut_BHWC, residual_BHWC);
    });
  }

  dispose(): void {
    for (const m of [this.norm1, this.conv1, this.norm2, this.conv2, this.ninShortcut]) m?.dispose();
  }
}
