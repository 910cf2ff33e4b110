import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, withDefaults } from '@nextdetail/core';

/**
 * The self-guided guided filter (He, Sun & Tang, "Guided Image Filtering", ECCV 2010, Alg. 1): a fast, non-iterative
 * edge-aware smoother. It is not a Mumford–Shah minimiser, so its base layers differ from Ambrosio–Tortorelli's; use
 * it where speed matters more than fidelity to CART's decomposition.
 */
export interface GuidedFilterOptions {
  /** Box radius r: windows are (2r+1)×(2r+1). */
  radius: number;
  /** ε: variance below which a window is smoothed flat, in [0,1]-scaled units² (0.01 ≈ a step of 0.1). */
  epsilon: number;
}

export const DEFAULT_GUIDED_FILTER: Readonly<GuidedFilterOptions> = Object.freeze({ radius: 2, epsilon: 0.01 });

export function resolveGuidedFilterOptions(options: Partial<GuidedFilterOptions> = {}, argument = 'options'): GuidedFilterOptions {
  const o = withDefaults(DEFAULT_GUIDED_FILTER, options);
  checkNumber(o.radius, `${argument}.radius`, { min: 1, integer: true });
  checkNumber(o.epsilon, `${argument}.epsilon`, { min: 0, exclusiveMin: true });
  return o;
}

/** Mean over the (2r+1)² window, borders mirrored as OpenCV's BORDER_REFLECT (…, x1, x0 | x0, x1, …). */
function boxMean(x: tf.Tensor4D, radius: number): tf.Tensor4D {
  return tf.tidy(() => {
    const padded = tf.mirrorPad(x, [[0, 0], [radius, radius], [radius, radius], [0, 0]], 'symmetric');
    return tf.avgPool(padded, 2 * radius + 1, 1, 'valid') as tf.Tensor4D;
  });
}

export interface GuidedFilterResult {
  /** The filtered image q = mean(a)·I + mean(b). */
  q: tf.Tensor4D;
  /** 1 − mean(a) ∈ [0, 1]: ≈1 where the window was flattened, ≈0 where an edge was kept (same sense as AT's v). */
  edges: tf.Tensor4D;
}

/**
 * Filters each channel of an NHWC batch with itself as the guide. Requires H, W > radius (the mirrored border).
 * The caller owns the returned tensors.
 */
export function guidedFilter(image: tf.Tensor4D, { radius, epsilon }: GuidedFilterOptions): GuidedFilterResult {
  return tf.tidy(() => {
    const mean = boxMean(image, radius);
    const variance = tf.relu(tf.sub(boxMean(tf.square(image), radius), tf.square(mean)));
    const a: tf.Tensor4D = tf.div(variance, tf.add(variance, epsilon));
    const b: tf.Tensor4D = tf.sub(mean, tf.mul(a, mean));
    const meanA = boxMean(a, radius);
    const q: tf.Tensor4D = tf.add(tf.mul(meanA, image), boxMean(b, radius));
    const edges: tf.Tensor4D = tf.sub(1, meanA);
    return { q, edges };
  });
}
