import * as tf from '@tensorflow/tfjs-core';
import { nearestCodeComposite } from './composite.js';
import { fitsDispatch, nearestCodeWebGPU } from './webgpu.js';

/** The custom op's kernel name: one kernel per backend that has one, the composite everywhere else. */
export const NEAREST_CODE = 'NextDetailNearestCode';

let registered = false;

/** Registers the backend kernels of the op and its gradient, once, the first time it is used. */
function registerKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: NEAREST_CODE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { z, embedding, zSquares, eSquares } = inputs as unknown as Record<'z' | 'embedding' | 'zSquares' | 'eSquares', tf.TensorInfo>;
      return nearestCodeWebGPU(backend as never, z, embedding, zSquares, eSquares);
    },
  });
  // Ids are piecewise constant in z and E: zero gradient, so a training step may take ids inside a recorded function.
  tf.registerGradient({
    kernelName: NEAREST_CODE,
    inputsToSave: ['z', 'embedding', 'zSquares', 'eSquares'],
    gradFunc: (_dy, saved) => {
      const [z, embedding, zSquares, eSquares] = saved as tf.Tensor[];
      return {
        z: () => tf.zerosLike(z!),
        embedding: () => tf.zerosLike(embedding!),
        zSquares: () => tf.zerosLike(zSquares!),
        eSquares: () => tf.zerosLike(eSquares!),
      };
    },
  });
}

/**
 * argmin_v ‖z − E_v‖² per row as int32 [N], the first index on ties: the WebGPU kernel where it applies, the composite
 * from core ops on every other backend (cpu, wasm, tensorflow).
 */
export function nearestCodeOp(z_NC: tf.Tensor2D, embedding_VC: tf.Tensor2D): tf.Tensor1D {
  registerKernels();
  if (tf.getBackend() === 'webgpu' && fitsDispatch(z_NC.shape[0])) {
    return tf.tidy(() => {
      // The squared norms by the composite's own ops, so both paths add the same float32 values.
      const zSquares_N = tf.sum(tf.square(z_NC), 1);
      const eSquares_V = tf.sum(tf.square(embedding_VC), 1);
      return tf.engine().runKernel(NEAREST_CODE, { z: z_NC, embedding: embedding_VC, zSquares: zSquares_N, eSquares: eSquares_V }) as tf.Tensor1D;
    });
  }
  return compositeWithZeroGradient(z_NC, embedding_VC) as tf.Tensor1D;
}

/**
 * The composite behind one custom-gradient node: its comparison and cast ops stay off the tape, and a training step
 * that takes ids inside a recorded function gets the same zero gradient as from the WebGPU kernel.
 */
const compositeWithZeroGradient = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [z_NC, embedding_VC] = args as [tf.Tensor2D, tf.Tensor2D];
  const [zShape, eShape] = [z_NC.shape, embedding_VC.shape];
  return {
    value: nearestCodeComposite(z_NC, embedding_VC),
    gradFunc: () => [tf.zeros(zShape), tf.zeros(eShape)],
  };
});
