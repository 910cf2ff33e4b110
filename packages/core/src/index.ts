export {
  NextDetailError,
  InvalidArgumentError,
  ShapeError,
  DTypeError,
  ValueRangeError,
  BackendUnavailableError,
} from './errors.js';
export { checkTensor, checkValues, checkNumber, describeShape, describeValue, withDefaults } from './validate.js';
export {
  BACKEND_NAMES,
  useBackend,
  parseBackendList,
  registerBackendLoader,
  type BackendName,
  type BackendInfo,
  type BackendLoader,
  type UseBackendOptions,
} from './backend.js';
export { registerFallbackKernels } from './kernels/registerFallbacks.js';
export { conv2dBackpropFilterComposite } from './kernels/conv2dBackpropFilter.js';
export { batchMatMulGrouped, fitsBatchMatMulGrouped } from './kernels/batchMatMulGrouped.js';
export { matMulUntransposed, fitsMatMulUntransposed } from './kernels/matMulUntransposed.js';
export { unsortedSegmentSumComposite } from './kernels/unsortedSegmentSum.js';
export { RandomGenerator, type GeneratorState } from './random/generator.js';
export { AdamW, type AdamWOptions } from './training/adamW.js';
export { clipGradientNorm, globalGradientNorm } from './training/gradientClipping.js';
export { fromTorchLayout, nhwcToNchw, tfjsShape, type LayoutTransform } from './checkpoint/layout.js';
export {
  loadStateDict,
  IGNORABLE_BUFFERS,
  type TensorSource,
  type ParameterSpec,
  type StateDictReport,
  type LoadedStateDict,
} from './checkpoint/stateDict.js';
export {
  bytesFromBuffer,
  bytesFromBlob,
  toByteSource,
  TruncatedDataError,
  type ByteSource,
  type ByteInput,
} from './io/byteSource.js';
export { CheckpointFormatError } from './io/checkpointErrors.js';
export { bytesFromUrl, HttpReadError, type UrlSourceOptions } from './io/urlSource.js';
export {
  readSafetensors,
  writeSafetensors,
  type SafetensorsFile,
  type SafetensorsTensorInfo,
  type SafetensorsDType,
  type RawTensor,
  type WritableRawTensor,
} from './io/safetensors.js';
export { float16ToFloat32, float32ToFloat16 } from './io/dtypeConversion.js';
export { resize } from './resample/resize.js';
export { RESAMPLE_MODES, resampleWeights, type ResampleMode, type ResampleOptions } from './resample/resampleWeights.js';
export {
  readPytorch,
  type PytorchCheckpoint,
  type PytorchStateDict,
  type ReadPytorchOptions,
  type TorchRawTensor,
  type TorchTensorInfo,
} from './io/pytorch.js';
export { UnsafePickleError } from './io/pickleErrors.js';
export { TorchTensorRef, type PickleValue, type TorchDType } from './io/pickle.js';
