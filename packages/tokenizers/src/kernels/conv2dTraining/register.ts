import * as tf from '@tensorflow/tfjs-core';
import { conv2dFilterGradient } from './filterGradient.js';
import { conv2dInputGradient } from './inputGradient.js';

/**
 * conv2d(x, W) + b as one kernel whose gradient takes dx and dW from forward convolutions (inputGradient.ts,
 * filterGradient.ts), which every backend runs far faster than its backprop kernels. A registered
 * kernel rather than tf.customGrad: tfjs saves a custom gradient's tensors inside its kernel-leak check, which on
 * wasm (where a clone is a new buffer) fails every test-mode run.
 */
export const CONV2D_TRAINING = 'NextDetailConv2dTraining';

interface Attrs {
  stride: number;
  pad: 'same' | 'valid';
}

const registeredOn = new Set<string>();

/** Registers the kernel for the current backend (core ops inside, which the engine does not tape) and the gradient. */
function registerKernels(): void {
  const backendName = tf.getBackend();
  if (registeredOn.size === 0) {
    tf.registerGradient({
      kernelName: CONV2D_TRAINING,
      inputsToSave: ['x', 'filter'],
      gradFunc: (dy, saved, attrs) => {
        const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
        const { stride, pad } = attrs as unknown as Attrs;
        const dy_BHWC = dy as tf.Tensor4D;
        const channels = dy_BHWC.shape[3];
        return {
          x: () => conv2dInputGradient(dy_BHWC, filter, x.shape as [number, number, number, number], stride, pad),
          filter: () => conv2dFilterGradient(x, dy_BHWC, filter.shape as [number, number, number, number], stride, pad),
          // A matMul sums over positions without the transpose tfjs-backend-cpu makes for leading-axis reductions.
          bias: () => tf.reshape(tf.matMul(tf.ones([1, dy_BHWC.size / channels]), tf.reshape(dy_BHWC, [-1, channels])), [channels]),
        };
      },
    });
  }
  if (registeredOn.has(backendName)) return;
  registeredOn.add(backendName);
  tf.registerKernel({
    kernelName: CONV2D_TRAINING,
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const { x, filter, bias } = inputs as unknown as { x: tf.Tensor4D; filter: tf.Tensor4D; bias: tf.Tensor1D };
      const { stride, pad } = attrs as unknown as Attrs;
      return tf.tidy(() => tf.add(tf.conv2d(x, filter, stride, pad), bias));
    },
  });
}

/** conv2d(x, W) + b whose input and filter gradients are forward convolutions; the value and dB are tfjs's. */
export function conv2dWithFastGradients(
  x_BHWC: tf.Tensor4D,
  filter_HWIO: tf.Tensor4D,
  bias_O: tf.Tensor1D,
  stride: number,
  pad: 'same' | 'valid',
): tf.Tensor4D {
  registerKernels();
  return tf.engine().runKernel(CONV2D_TRAINING, { x: x_BHWC, filter: filter_HWIO, bias: bias_O }, { stride, pad } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
