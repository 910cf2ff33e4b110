import * as tf from '@tensorflow/tfjs-core';
import type { BlockStyle } from './blockStyle.js';
import { Conv2d } from './conv2d.js';
import { GroupNorm } from './groupNorm.js';
import type { LoadedParameters, ParameterSpecs } from './parameters.js';
import { silu } from './silu.js';

// FoundationVision/VAR@78b9539:models/basic_vae.py ResnetBlock, the same block as
// jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py ResnetBlock (dropout is 0 in every released VAE, so it is left out)
export class ResnetBlock {
  static spec(style: BlockStyle, name: string, inChannels: number, outChannels: number): ParameterSpecs {
    const conv = (module: string): string => style.convPath(`${name}.${module}`);
    const norm = (module: string): string => style.normPath(`${name}.${module}`);
    return {
      ...GroupNorm.spec(norm('norm1'), inChannels),
      ...Conv2d.spec(conv('conv1'), inChannels, outChannels, 3),
      ...GroupNorm.spec(norm('norm2'), outChannels),
      ...Conv2d.spec(conv('conv2'), outChannels, outChannels, 3),
      // PyTorch uses nn.Identity (no parameters) when the width does not change.
      ...(inChannels !== outChannels ? Conv2d.spec(conv('nin_shortcut'), inChannels, outChannels, 1) : {}),
    };
  }

  static load(style: BlockStyle, params: LoadedParameters, name: string, inChannels: number, outChannels: number): ResnetBlock {
    const conv = (module: string): string => style.convPath(`${name}.${module}`);
    const norm = (module: string): string => style.normPath(`${name}.${module}`);
    return new ResnetBlock(
      GroupNorm.load(params, norm('norm1'), style.groups(inChannels)),
      Conv2d.load(params, conv('conv1')),
      GroupNorm.load(params, norm('norm2'), style.groups(outChannels)),
      Conv2d.load(params, conv('conv2')),
      inChannels !== outChannels ? Conv2d.load(params, conv('nin_shortcut')) : null,
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
