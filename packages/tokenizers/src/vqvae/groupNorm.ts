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
    // The cpu backend broadcasts fast only along trailing axes, so there the image-by-image form is the fast one; on
    // wasm every op of that loop has a large fixed cost (0.9 s against 50 ms for a batch of 100 32×32×32 maps).
    return tf.getBackend() === 'cpu'
      ? groupNormPerImage(x_BHWC, this.gamma_C, this.beta_C, this.groups)
      : groupNormBatched(x_BHWC, this.gamma_C, this.beta_C, this.groups);
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

/** GroupNorm of the whole batch at once: statistics over the positions and channels of every (image, group). */
export function groupNormBatched(x_BHWC: tf.Tensor4D, gamma_C: tf.Tensor1D, beta_C: tf.Tensor1D, groups: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, C] = x_BHWC.shape;
    const x_BLGc = tf.reshape(x_BHWC, [B, H * W, groups, C / groups]);
    // tf.moments takes two passes (mean, then mean squared deviation), as the per-image form does.
    const { mean, variance } = tf.moments(x_BLGc, [1, 3], true);
    const normed = tf.reshape(tf.mul(tf.sub(x_BLGc, mean), tf.rsqrt(tf.add(variance, GROUP_NORM_EPS))), [B, H, W, C]);
    return tf.add(tf.mul(normed, gamma_C), beta_C);
  });
}

/** GroupNorm one image at a time, so that every statistic broadcasts against the image as a [C] vector. */
export function groupNormPerImage(x_BHWC: tf.Tensor4D, gamma_C: tf.Tensor1D, beta_C: tf.Tensor1D, groups: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, C] = x_BHWC.shape;
    const ones_1L = tf.ones<tf.Rank.R2>([1, H * W]);
    // A single image is reshaped rather than unstacked: tfjs's Unpack gradient fails for a one-output unstack.
    const images_LC = B === 1 ? [tf.reshape<tf.Rank.R2>(x_BHWC, [H * W, C])] : (tf.unstack(tf.reshape(x_BHWC, [B, H * W, C])) as tf.Tensor2D[]);
    const y_LC = images_LC.map((x_LC) => {
      const mean_C = groupMean(ones_1L, x_LC, groups);
      // Two passes (mean, then mean squared deviation): E[x²] − E[x]² cancels badly when |mean| ≫ std.
      const variance_C = groupMean(ones_1L, tf.square(tf.sub<tf.Tensor2D>(x_LC, mean_C)), groups);
      return tf.batchNorm(x_LC, mean_C, variance_C, beta_C, gamma_C, GROUP_NORM_EPS);
    });
    return tf.reshape(B === 1 ? y_LC[0]! : tf.stack(y_LC), [B, H, W, C]);
  });
}
