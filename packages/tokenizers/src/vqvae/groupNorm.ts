import * as tf from '@tensorflow/tfjs-core';
import { type LoadedParameters, parameter, type ParameterSpecs } from './parameters.js';

/** VAR's `Normalize` always uses 32 groups, so every channel count in its VAE must be a multiple of 32. */
export const GROUP_NORM_GROUPS = 32;
const GROUP_NORM_EPS = 1e-6;

// FoundationVision/VAR@78b9539:models/basic_vae.py Normalize = torch.nn.GroupNorm(groups, C, eps=1e-6, affine=True);
// the group count is the family's (BlockStyle.groups), the epsilon is the same in VAR, LlamaGen and NVG.
export class GroupNorm {
  static spec(name: string, channels: number): ParameterSpecs {
    return { [`${name}.weight`]: { shape: [channels] }, [`${name}.bias`]: { shape: [channels] } };
  }

  static load(params: LoadedParameters, name: string, groups: number): GroupNorm {
    return new GroupNorm(parameter(params, `${name}.weight`), parameter(params, `${name}.bias`), groups);
  }

  private constructor(
    private readonly gamma_C: tf.Tensor1D,
    private readonly beta_C: tf.Tensor1D,
    private readonly groups: number,
  ) {}

  apply(x_BHWC: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [B, H, W, C] = x_BHWC.shape;
      const ones_1L = tf.ones<tf.Rank.R2>([1, H * W]);
      // One image at a time, so that every statistic broadcasts against the image as a [C] vector: tfjs-backend-cpu
      // has a fast path only for trailing-axis broadcasts, and the VAE's time would otherwise go into normalisation.
      // A single image is reshaped rather than unstacked: tfjs's Unpack gradient fails for a one-output unstack.
      const images_LC = B === 1 ? [tf.reshape<tf.Rank.R2>(x_BHWC, [H * W, C])] : (tf.unstack(tf.reshape(x_BHWC, [B, H * W, C])) as tf.Tensor2D[]);
      const y_LC = images_LC.map((x_LC) => {
        const mean_C = groupMean(ones_1L, x_LC, this.groups);
        // Two passes (mean, then mean squared deviation): E[x²] − E[x]² cancels badly when |mean| ≫ std.
        const variance_C = groupMean(ones_1L, tf.square(tf.sub<tf.Tensor2D>(x_LC, mean_C)), this.groups);
        return tf.batchNorm(x_LC, mean_C, variance_C, this.beta_C, this.gamma_C, GROUP_NORM_EPS);
      });
      return tf.reshape(B === 1 ? y_LC[0]! : tf.stack(y_LC), [B, H, W, C]);
    });
  }

  dispose(): void {
    tf.dispose([this.gamma_C, this.beta_C]);
  }
}

/** The mean over positions and over the channels of each group, repeated for every channel of the group. */
function groupMean(ones_1L: tf.Tensor2D, x_LC: tf.Tensor2D, groups: number): tf.Tensor1D {
  const [L, C] = x_LC.shape;
  // A matMul sums over positions without the transpose that tfjs reductions over a leading axis make.
  const sum_GC = tf.reshape(tf.matMul(ones_1L, x_LC), [groups, C / groups]);
  const mean_G1 = tf.div(tf.sum(sum_GC, 1, true), L * (C / groups));
  return tf.reshape(tf.tile(mean_G1, [1, C / groups]), [C]);
}
