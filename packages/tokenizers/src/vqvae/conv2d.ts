import * as tf from '@tensorflow/tfjs-core';
import { conv2dWithFastGradients } from '../kernels/conv2dTraining/register.js';
import { type LoadedParameters, parameter, type ParameterSpecs } from './parameters.js';

/**
 * torch.nn.Conv2d with bias on NHWC input. Every conv in VAR's VAE is either stride 1 with padding k//2 (odd k), which
 * is tfjs's 'same', or Downsample2x's stride-2 conv on an already padded input ('valid').
 */
export class Conv2d {
  static spec(name: string, inChannels: number, outChannels: number, kernelSize: number): ParameterSpecs {
    return {
      [`${name}.weight`]: { shape: [outChannels, inChannels, kernelSize, kernelSize], transform: 'conv2d' },
      [`${name}.bias`]: { shape: [outChannels] },
    };
  }

  static load(params: LoadedParameters, name: string): Conv2d {
    return new Conv2d(parameter(params, `${name}.weight`), parameter(params, `${name}.bias`));
  }

  private constructor(
    private readonly filter_HWIO: tf.Tensor4D,
    private readonly bias_O: tf.Tensor1D,
  ) {}

  apply(x_BHWC: tf.Tensor4D, stride: 1 | 2 = 1, pad: 'same' | 'valid' = 'same'): tf.Tensor4D {
    // Trainable weights on cpu and wasm take their filter gradient from a forward conv (see filterGradient.ts).
    if (this.filter_HWIO instanceof tf.Variable && (tf.getBackend() === 'cpu' || tf.getBackend() === 'wasm')) {
      return conv2dWithFastGradients(x_BHWC, this.filter_HWIO, this.bias_O, stride, pad);
    }
    return tf.fused.conv2d({ x: x_BHWC, filter: this.filter_HWIO, bias: this.bias_O, strides: stride, pad });
  }

  dispose(): void {
    tf.dispose([this.filter_HWIO, this.bias_O]);
  }
}
