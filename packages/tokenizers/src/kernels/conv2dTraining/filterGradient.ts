import * as tf from '@tensorflow/tfjs-core';

/**
 * ∂L/∂W of an NHWC conv2d (dilation 1) as one forward convolution: with batch and channels swapped, the padded input
 * [Ci, H, W, B] convolved with dy [oh, ow, B, Co] as the filter, dilated by the stride, is dW [Ci, kh, kw, Co]:
 *
 *   dW[kh, kw, ci, co] = Σ_{b, oh, ow} xpad[b, oh·s + kh, ow·s + kw, ci] · dy[b, oh, ow, co]
 *
 * tfjs-backend-cpu's own Conv2DBackpropFilter walks TensorBuffers element by element and is ~30× slower than its
 * forward Conv2D on the VAE's shapes, which made CPU training impractical; tfjs-backend-wasm has none (core's fallback
 * runs one strided slice and matmul per tap).
 */
export function conv2dFilterGradient(
  x_BHWC: tf.Tensor4D,
  dy_BHWC: tf.Tensor4D,
  filterShape: [number, number, number, number],
  stride: number,
  pad: 'same' | 'valid',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x_BHWC.shape, filterShape, stride, 1, pad);
    const { top, bottom, left, right } = info.padInfo;
    const xpad_BHWC = tf.pad(x_BHWC, [[0, 0], [top, bottom], [left, right], [0, 0]]);
    // Rows past the last window (a stride-2 conv over an odd padded size) take no part in the gradient.
    const [kh, kw] = filterShape;
    const usedH = (info.outHeight - 1) * stride + kh;
    const usedW = (info.outWidth - 1) * stride + kw;
    const x_CHWB = tf.transpose(tf.slice(xpad_BHWC, [0, 0, 0, 0], [-1, usedH, usedW, -1]), [3, 1, 2, 0]);
    const dy_HWBC = tf.transpose(dy_BHWC, [1, 2, 0, 3]);
    const dw_CKKO = tf.conv2d(x_CHWB as tf.Tensor4D, dy_HWBC as tf.Tensor4D, 1, 'valid', 'NHWC', stride);
    return tf.transpose(dw_CKKO, [1, 2, 0, 3]);
  });
}
