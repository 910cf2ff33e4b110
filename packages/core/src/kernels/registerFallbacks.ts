import * as tf from '@tensorflow/tfjs-core';
import { batchMatMulGrouped, fitsBatchMatMulGrouped } from './batchMatMulGrouped.js';
import { conv2dBackpropFilterComposite } from './conv2dBackpropFilter.js';
import { fitsMatMulUntransposed, matMulUntransposed } from './matMulUntransposed.js';
import { unsortedSegmentSumComposite } from './unsortedSegmentSum.js';

// Kernels some tfjs backends lack, each with a composite built from core ops. The engine accepts a Tensor returned
// by a kernel as the kernel's output, and does not tape the ops a kernel runs internally.
const FALLBACKS: Array<{ kernelName: string; kernelFunc: tf.KernelFunc }> = [
  {
    kernelName: tf.Conv2DBackpropFilter,
    kernelFunc: ({ inputs, attrs }) => {
      const { x, dy } = inputs as unknown as tf.Conv2DBackpropFilterInputs & { x: tf.Tensor4D; dy: tf.Tensor4D };
      const { strides, pad, dimRoundingMode, filterShape, dataFormat } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter fallback supports NHWC only');
      return conv2dBackpropFilterComposite(x, dy, filterShape, strides, pad, dimRoundingMode);
    },
  },
  {
    kernelName: tf.UnsortedSegmentSum,
    kernelFunc: ({ inputs, attrs }) => {
      const { x, segmentIds } = inputs as unknown as { x: tf.Tensor; segmentIds: tf.Tensor };
      const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
      return unsortedSegmentSumComposite(x, segmentIds, numSegments);
    },
  },
];

// tfjs-backend-webgpu 4.22 binds every AddN input as a storage buffer and silently ignores the inputs past the
// device's binding limit (seen: 7 inputs on lavapipe, whose limit is 8 with the output). Summing in groups keeps each
// call within any device's limit.
const ADDN_GROUP = 6;

function addNInGroups(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const xs = args.inputs as unknown as tf.Tensor[];
    if (xs.length <= ADDN_GROUP) return original(args);
    return tf.tidy(() => {
      const partials: tf.Tensor[] = [];
      for (let i = 0; i < xs.length; i += ADDN_GROUP) partials.push(tf.addN(xs.slice(i, i + ADDN_GROUP)));
      return tf.addN(partials);
    });
  };
}

// tfjs-backend-wasm 4.22 hands only single untransposed products to XNNPACK and runs every other one (attention's
// batched q·kᵀ and p·v, a linear layer's backward products) in a scalar loop at about 1 GFLOP/s. Batched products
// run as one grouped convolution in XNNPACK, and transposed single ones after an explicit transpose.
function batchMatMulViaXnnpack(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as unknown as { a: tf.Tensor; b: tf.Tensor };
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    if (fitsBatchMatMulGrouped(a, b, transposeA, transposeB)) return batchMatMulGrouped(a, b, transposeA, transposeB);
    if (fitsMatMulUntransposed(a, b, transposeA, transposeB)) return matMulUntransposed(a, b, transposeA, transposeB);
    return original(args);
  };
}

// tfjs-backend-wasm 4.22's Identity copies its input, and the engine runs Identity for every tensor it keeps for a
// gradient: about 2 000 copies per NVG training step, 10 % of the step. Its Reshape, and the cpu backend's Identity,
// share the input's memory instead, which is safe because no kernel writes into an input.
function identitySharingMemory(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as unknown as tf.IdentityInputs).x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args);
    (args.backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

// A backend's own kernel replaced by a wrapper that calls it (marked, so that registering twice wraps once).
const WRAPPED = Symbol.for('@nextdetail/core/wrapped-kernel');
const WRAPPERS: Array<{ kernelName: string; backendName: string; wrap: (original: tf.KernelFunc) => tf.KernelFunc; label: string }> = [
  { kernelName: tf.AddN, backendName: 'webgpu', wrap: addNInGroups, label: `${tf.AddN} (in groups of ${ADDN_GROUP})` },
  { kernelName: tf.BatchMatMul, backendName: 'wasm', wrap: batchMatMulViaXnnpack, label: `${tf.BatchMatMul} (through XNNPACK)` },
  { kernelName: tf.Identity, backendName: 'wasm', wrap: identitySharingMemory, label: `${tf.Identity} (sharing memory)` },
];

/**
 * Registers the composite fallbacks for every kernel that `backendName` lacks, the grouped AddN on webgpu, and on
 * wasm the XNNPACK routes of BatchMatMul and an Identity that shares memory.
 * Returns the kernel names registered. `useBackend` calls it for each backend it starts; call it yourself if you
 * start backends with `tf.setBackend`.
 */
export function registerFallbackKernels(backendName: string = tf.getBackend()): string[] {
  const added: string[] = [];
  for (const { kernelName, kernelFunc } of FALLBACKS) {
    if (tf.getKernel(kernelName, backendName)) continue;
    tf.registerKernel({ kernelName, backendName, kernelFunc });
    added.push(kernelName);
  }
  for (const { kernelName, wrap, label } of WRAPPERS.filter((w) => w.backendName === backendName)) {
    const kernel = tf.getKernel(kernelName, backendName);
    if (!kernel || WRAPPED in kernel.kernelFunc) continue;
    tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ ...kernel, kernelFunc: Object.assign(wrap(kernel.kernelFunc), { [WRAPPED]: true }) });
    added.push(label);
  }
  return added;
}
