import type * as tf from '@tensorflow/tfjs-core';
import { linear as linearIO } from '../linear.js';

/** A PyTorch Linear with its weight in tfjs layout [in, out]. A type alias so that tf.dispose accepts it. */
export type LinearParams = { weight_IO: tf.Tensor; bias_O: tf.Tensor };

/** x·W + b over the last axis of `x` [..., in] → [..., out]. */
export function linear(x: tf.Tensor, { weight_IO, bias_O }: LinearParams): tf.Tensor {
  return linearIO(x, weight_IO, bias_O);
}
