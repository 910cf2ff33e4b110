import * as tf from '@tensorflow/tfjs-core';
import { Conv2d } from './conv2d.js';
import { GroupNorm } from './groupNorm.js';
import type { LoadedParameters, ParameterSpecs } from './parameters.js';

// FoundationVision/VAR@78b9539:models/basic_vae.py AttnBlock: one head over the H·W positions, residual output
export class AttnBlock {
  static spec(name: string, channels: number): ParameterSpecs {
    return {
      ...GroupNorm.spec(`${name}.norm`, channels),
      ...Conv2d.spec(`${name}.qkv`, channels, 3 * channels, 1),
      ...Conv2d.spec(`${name}.proj_out`, channels, channels, 1),
    };
  }

  static load(params: LoadedParameters, name: string): AttnBlock {
    return new AttnBlock(
      GroupNorm.load(params, `${name}.norm`),
      Conv2d.load(params, `${name}.qkv`),
      Conv2d.load(params, `${name}.proj_out`),
    );
  }

  private constructor(
    private readonly norm: GroupNorm,
    private readonly qkv: Conv2d,
    private readonly projOut: Conv2d,
  ) {}

  apply(x_BHWC: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [B, H, W, C] = x_BHWC.shape;
      const qkv_BL3C = tf.reshape(this.qkv.apply(this.norm.apply(x_BHWC)), [B, H * W, 3 * C]);
      // The fused conv's output channels are [q | k | v] (the reference reshapes them to (B, 3, C, H, W)).
      const [q_BLC, k_BLC, v_BLC] = tf.split(qkv_BL3C, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
      // Scaling the logits rather than q follows the reference's rounding.
      const w_BLL = tf.softmax(tf.mul(tf.matMul(q_BLC, k_BLC, false, true), C ** -0.5));
      const h_BHWC = tf.reshape<tf.Rank.R4>(tf.matMul(w_BLL, v_BLC), [B, H, W, C]);
      return tf.add(x_BHWC, this.projOut.apply(h_BHWC));
    });
  }

  dispose(): void {
    for (const m of [this.norm, this.qkv, this.projOut]) m.dispose();
  }
}
