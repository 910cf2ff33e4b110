import type * as tf from '@tensorflow/tfjs-core';
import { nearestCodeOp } from '../kernels/nearestCode/register.js';

/**
 * The nearest codebook row of every row of `z_NC`, argmin_v ‖z − E_v‖², as int32 ids [N]; the first index wins ties.
 * Distances follow the reference's expansion (‖z‖² + ‖E_v‖²) − 2·z·E_v; on WebGPU one fused kernel computes them and
 * the argmin without the [N, V] distance matrix (kernels/nearestCode).
 */
// FoundationVision/VAR@78b9539:models/quant.py VectorQuantizer2.f_to_idxBl_or_fhat (using_znorm=False branch)
export function nearestCode(z_NC: tf.Tensor2D, embedding_VC: tf.Tensor2D): tf.Tensor1D {
  return nearestCodeOp(z_NC, embedding_VC);
}
