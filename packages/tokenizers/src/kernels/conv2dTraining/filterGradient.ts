import * as tf from '@tensorflow/tfjs-core';

/**
 * ∂L/∂W of an NHWC conv2d (dilation 1) as one forward convolution: with batch and channels swapped, the padded input
 * [Ci, H, W, B] convolved with dy [oh, ow, B, Co] as the filter, dilated by the stride, is dW [Ci, kh, kw, Co]:
 *
 *   dW[kh, kw, ci, co] = Σ_{b, oh, ow} xpad[b, oh·s + kh, ow·s + kw, ci] · dy[b, oh, ow, co]
 *
 * tfjs-backend-cpu's own Conv2DBackpropFilter walks TensorBuffers element by element and is ~30× slower than its
 * forward Conv2D on the VAE's shapes, which made CPU training impractical.
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

/**
 * conv2d(x, W) + b whose gradient takes dW from `conv2dFilterGradient`; the value and the other gradients are tfjs's
 * (Conv2D, Conv2DBackpropInput).
 */
export function conv2dWithFastFilterGradient(
  x_BHWC: tf.Tensor4D,
  filter_HWIO: tf.Tensor4D,
  bias_O: tf.Tensor1D,
  stride: number,
  pad: 'same' | 'valid',
): tf.Tensor4D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, filter, bias, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.GradSaveFunc];
    save([x, filter]);
    const value = tf.fused.conv2d({ x, filter, bias, strides: stride, pad });
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const dy_BHWC = dy as tf.Tensor4D;
      return [
        tf.conv2dTranspose(dy_BHWC, ws, xs.shape, stride, pad),
        conv2dFilterGradient(xs, dy_BHWC, ws.shape as [number, number, number, number], stride, pad),
        // A matMul sums over positions without the transpose tfjs-backend-cpu makes for leading-axis reductions.
        tf.reshape(tf.matMul(tf.ones([1, dy_BHWC.size / dy_BHWC.shape[3]]), tf.reshape(dy_BHWC, [-1, dy_BHWC.shape[3]])), [-1]),
      ];
    };
    return { value, gradFunc };
  });
  return op(x_BHWC, filter_HWIO, bias_O) as tf.Tensor4D;
}
