import * as tf from '@tensorflow/tfjs-core';
import type { BlockStyle } from './blockStyle.js';
import { Conv2d } from './conv2d.js';
import { GroupNorm } from './groupNorm.js';
import type { LoadedParameters, ParameterSpecs } from './parameters.js';

// FoundationVision/VAR@78b9539:models/basic_vae.py AttnBlock (fused qkv) and
// jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py AttnBlock (separate q, k, v): one head over the H·W positions,
// logits scaled by C^−0.5, residual output.
export class AttnBlock {
  static spec(style: BlockStyle, name: string, channels: number): ParameterSpecs {
    const conv = (module: string): string => style.convPath(`${name}.${module}`);
    const norm = (module: string): string => style.normPath(`${name}.${module}`);
    const projections = style.fusedQkv
      ? Conv2d.spec(conv('qkv'), channels, 3 * channels, 1)
      : Object.assign({}, ...['q', 'k', 'v'].map((m) => Conv2d.spec(conv(m), channels, channels, 1)));
    return {
      ...GroupNorm.spec(norm('norm'), channels),
      ...(projections as ParameterSpecs),
      ...Conv2d.spec(conv('proj_out'), channels, channels, 1),
    };
  }

  static load(style: BlockStyle, params: LoadedParameters, name: string, channels: number): AttnBlock {
    const conv = (module: string): string => style.convPath(`${name}.${module}`);
    const norm = (module: string): string => style.normPath(`${name}.${module}`);
    return new AttnBlock(
      GroupNorm.load(params, norm('norm'), style.groups(channels)),
      (style.fusedQkv ? ['qkv'] : ['q', 'k', 'v']).map((m) => Conv2d.load(params, conv(m))),
      Conv2d.load(params, conv('proj_out')),
    );
  }

  private constructor(
    private readonly norm: GroupNorm,
    /** [qkv] or [q, k, v]. */
    private readonly projections: Conv2d[],
    private readonly projOut: Conv2d,
  ) {}

  apply(x_BHWC: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [B, H, W, C] = x_BHWC.shape;
      const h_BHWC = this.norm.apply(x_BHWC);
      const outs_BHWC = this.projections.map((conv) => conv.apply(h_BHWC));
      // The fused conv's output channels are [q | k | v] (the reference reshapes them to (B, 3, C, H, W)).
      const [q_BLC, k_BLC, v_BLC] = (
        outs_BHWC.length === 1 ? tf.split(outs_BHWC[0]!, 3, 3) : outs_BHWC
      ).map((t) => tf.reshape<tf.Rank.R3>(t, [B, H * W, C])) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
      // Scaling the logits rather than q follows the reference's rounding.
      const w_BLL = tf.softmax(tf.mul(tf.matMul(q_BLC, k_BLC, false, true), C ** -0.5));
      const o_BHWC = tf.reshape<tf.Rank.R4>(tf.matMul(w_BLL, v_BLC), [B, H, W, C]);
      return tf.add(x_BHWC, this.projOut.apply(o_BHWC));
    });
  }

  dispose(): void {
    for (const m of [this.norm, ...this.projections, this.projOut]) m.dispose();
  }
}
