import * as tf from '@tensorflow/tfjs-core';
import { orderedSegmentSum } from './orderedSegmentSum.js';

/**
 * E[ids] for int32 ids of any shape, [...ids.shape, C], inside a recorded function: ∂/∂E is the scatter-add of the
 * incoming gradient over the ids, and the ids get a zero (float32) gradient. tf.gather would hand its int32 indices
 * back as their "gradient", which tfjs refuses when the ids were computed from trainable values. A registered kernel
 * (a gather from core ops on every backend) rather than tf.customGrad, whose saved tensors trip tfjs's test-mode
 * kernel-leak check on wasm.
 */
export const CODEBOOK_LOOKUP = 'NextDetailCodebookLookup';

const registeredOn = new Set<string>();

function registerKernels(): void {
  const backendName = tf.getBackend();
  if (registeredOn.size === 0) {
    tf.registerGradient({
      kernelName: CODEBOOK_LOOKUP,
      inputsToSave: ['ids'],
      gradFunc: (dy, saved, attrs) => {
        const [ids] = saved as [tf.Tensor];
        const { vocabSize } = attrs as unknown as { vocabSize: number };
        const channels = (dy as tf.Tensor).shape[(dy as tf.Tensor).rank - 1]!;
        return {
          embedding: () => {
            const dy_NC = tf.reshape(dy as tf.Tensor, [-1, channels]) as tf.Tensor2D;
            const ids_N = tf.reshape(ids, [-1]) as tf.Tensor1D;
            // WebGPU's own segment sum is not reproducible (orderedSegmentSum); the other backends' is, and faster.
            const ordered = tf.getBackend() === 'webgpu' && vocabSize >= 2;
            return ordered ? orderedSegmentSum(dy_NC, ids_N, vocabSize) : tf.unsortedSegmentSum(dy_NC, ids_N, vocabSize);
          },
          ids: () => tf.zeros(ids.shape),
        };
      },
    });
  }
  if (registeredOn.has(backendName)) return;
  registeredOn.add(backendName);
  tf.registerKernel({
    kernelName: CODEBOOK_LOOKUP,
    backendName,
    kernelFunc: ({ inputs }) => {
      const { embedding, ids } = inputs as unknown as { embedding: tf.Tensor2D; ids: tf.Tensor };
      return tf.gather(embedding, ids);
    },
  });
}

export function codebookLookup(embedding_VC: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  registerKernels();
  return tf.engine().runKernel(CODEBOOK_LOOKUP, { embedding: embedding_VC, ids }, { vocabSize: embedding_VC.shape[0] }) as tf.Tensor;
}
