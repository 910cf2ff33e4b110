import * as tf from '@tensorflow/tfjs-core';

/**
 * ∂L/∂W of an NHWC conv2d from core ops, for backends without a Conv2DBackpropFilter kernel (tfjs's wasm backend):
 *
 *   dW[kh, kw, ci, co] = Σ_{b, oh, ow} xpad[b, oh·sh + kh, ow·sw + kw, ci] · dy[b, oh, ow, co]
 *
 * one strided slice and one [ci × N]·[N × co] matmul per filter tap. Dilations are 1, as in tfjs's conv2d gradient.
 */
export function conv2dBackpropFilterComposite(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
    const { top, bottom, left, right } = info.padInfo;
    const [kh, kw, ci, co] = filterShape;
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const [oh, ow] = [info.outHeight, info.outWidth];
    const xpad = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
    const dy2 = tf.reshape(dy, [-1, co]);
    const taps: tf.Tensor2D[] = [];
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) {
        const end = [x.shape[0], i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, ci];
        const patch = tf.stridedSlice(xpad, [0, i, j, 0], end, [1, sh, sw, 1]);
        taps.push(tf.matMul(tf.reshape(patch, [-1, ci]), dy2, true, false));
      }
    return tf.reshape(tf.stack(taps), filterShape);
  });
}
