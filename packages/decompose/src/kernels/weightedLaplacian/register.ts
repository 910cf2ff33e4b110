import * as tf from '@tensorflow/tfjs-core';
import { weightedLaplacianComposite } from './composite.js';
import { fitsOneDispatch, weightedLaplacianWebGPU } from './webgpu.js';

/** The custom op's kernel name: one kernel per backend that has one, the composite everywhere else. */
export const WEIGHTED_LAPLACIAN = 'NextDetailWeightedLaplacian';

interface Attrs {
  strideX: number;
  strideY: number;
}

let registered = false;

/** Registers the backend kernels of the op, once, the first time it is used. */
function registerKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: WEIGHTED_LAPLACIAN,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { u, linksX, linksY } = inputs as unknown as Record<'u' | 'linksX' | 'linksY', tf.TensorInfo>;
      const { strideX, strideY } = attrs as unknown as Attrs;
      return weightedLaplacianWebGPU(backend as never, u, linksX, linksY, strideX, strideY);
    },
  });
}

/**
 * (Dxᵀ W Dx + Dyᵀ W Dy) u on fields of flat length n: the WebGPU kernel where it applies, the composite from core ops
 * on every other backend (cpu, wasm, tensorflow).
 */
export function weightedLaplacian(u: tf.Tensor, linksX: tf.Tensor, linksY: tf.Tensor, strideX: number, strideY: number): tf.Tensor {
  registerKernels();
  if (tf.getBackend() === 'webgpu' && fitsOneDispatch(u.size)) {
    return tf.engine().runKernel(WEIGHTED_LAPLACIAN, { u, linksX, linksY }, { strideX, strideY } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return weightedLaplacianComposite(u, linksX, linksY, strideX, strideY);
}
