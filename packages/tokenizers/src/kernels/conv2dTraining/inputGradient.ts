import * as tf from '@tensorflow/tfjs-core';

/**
 * ∂L/∂x of an NHWC conv2d (dilation 1) as one forward convolution: dy, dilated by the stride and padded by k − 1,
 * correlated with the spatially flipped filter (input and output channels swapped) is ∂L/∂xpad; the padding is then
 * cut off.
 *
 *   dxpad[b, i, j, ci] = Σ_{kh, kw, co} dy_dilated[b, i − kh, j − kw, co] · W[kh, kw, ci, co]
 *
 * tfjs-backend-wasm's Conv2DBackpropInput (what tf.conv2dTranspose runs) is a plain loop outside XNNPACK and took a
 * third of a VAE training step there; tfjs-backend-cpu's walks TensorBuffers. Their forward Conv2D is much faster.
 */
export function conv2dInputGradient(
  dy_BHWC: tf.Tensor4D,
  filter_HWIO: tf.Tensor4D,
  xShape: [number, number, number, number],
  stride: number,
  pad: 'same' | 'valid',
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, ci, co] = filter_HWIO.shape;
    const info = tf.backend_util.computeConv2DInfo(xShape, filter_HWIO.shape, stride, 1, pad);
    const { top, bottom, left, right } = info.padInfo;
    const [b, oh, ow] = dy_BHWC.shape;
    const [padH, padW] = [xShape[1] + top + bottom, xShape[2] + left + right];
    const [usedH, usedW] = [(oh - 1) * stride + 1, (ow - 1) * stride + 1];
    // Zeros between the rows and columns of dy: [B, (oh − 1)·s + 1, (ow − 1)·s + 1, Co]. Each axis is spread by a
    // rank-4 pad: one rank-6 pad gave wrong values on tfjs-backend-webgpu (lavapipe).
    let dilated_BHWC = dy_BHWC;
    if (stride > 1) {
      const after = stride - 1;
      const columns = tf.pad(tf.reshape(dy_BHWC, [b * oh, ow, 1, co]), [[0, 0], [0, 0], [0, after], [0, 0]]);
      const rows = tf.pad(tf.reshape(columns, [b, oh, 1, ow * stride * co]), [[0, 0], [0, 0], [0, after], [0, 0]]);
      dilated_BHWC = tf.slice(tf.reshape(rows, [b, oh * stride, ow * stride, co]), 0, [b, usedH, usedW, co]) as tf.Tensor4D;
    }
    const framed_BHWC = tf.pad(dilated_BHWC, [[0, 0], [kh - 1, padH - usedH], [kw - 1, padW - usedW], [0, 0]]);
    const flipped_HWOI = tf.transpose(tf.reverse(filter_HWIO, [0, 1]), [0, 1, 3, 2]);
    const dxpad_BHWC = tf.conv2d(framed_BHWC, flipped_HWOI as tf.Tensor4D, 1, 'valid');
    return tf.slice(dxpad_BHWC, [0, top, left, 0], [b, xShape[1], xShape[2], ci]) as tf.Tensor4D;
  });
}
