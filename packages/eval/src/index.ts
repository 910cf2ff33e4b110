export { StatisticsAccumulator, featureStatistics, type FeatureStatistics, type AccumulatorState } from './featureStatistics.js';
export { frechetDistance, frechetTerms, type FrechetOptions, type FrechetTerms } from './frechetDistance.js';
export { frechetDistanceFromFeatures } from './frechetDistanceFromFeatures.js';
export { checkFeatureMatrix, toFeatureMatrix, type FeatureMatrix, type FeatureInput } from './featureMatrix.js';
export { inceptionScore, inceptionScoreAdm, type InceptionScoreOptions, type InceptionScoreResult } from './inceptionScore.js';
export { numpyPermutation } from './numpyPermutation.js';
export { precisionRecall, type PrecisionRecallOptions, type PrecisionRecallResult } from './precisionRecall.js';
export { kernelInceptionDistance, type KidOptions, type KidResult } from './kernelInceptionDistance.js';
export { traceSqrtProduct, type TraceSqrtResult } from './linalg/traceSqrtProduct.js';
export { symmetricEigenvaluesInPlace } from './linalg/symmetricEigenvalues.js';
export { FidInception, SPATIAL_CHANNELS, type FidInceptionOutputs } from './inception/fidInception.js';
export { loadFidInceptionWeights, type FidInceptionWeights, type FoldedConv } from './inception/loadFidInceptionWeights.js';
export { CONV_UNITS, NUM_CLASSES, POOL3_DIM, pytorchFidName, type ConvUnit } from './inception/architecture.js';
export { PREPROCESS_MODES, INCEPTION_SIZE, preprocessForInception, checkPreprocessMode, type PreprocessMode } from './preprocess.js';
export { pilBicubicWeights } from './pilBicubicWeights.js';
export { inceptionFeatureExtractor, inceptionOutputs, type FeatureExtractor, type InceptionOutput } from './featureExtractor.js';
export { extractFeatures, type ExtractOptions, type ExtractResult } from './extractFeatures.js';
export { loadFidInception, openCheckpoint } from './loadFidInception.js';
export { encodeNpy, decodeNpy, type NpyArray } from './npy.js';
export {
  encodeNpz,
  decodeNpz,
  encodeStatisticsNpz,
  decodeStatisticsNpz,
  encodeAccumulatorNpz,
  decodeAccumulatorNpz,
} from './statisticsFiles.js';
export { encodeStatisticsSafetensors, decodeStatisticsSafetensors } from './statisticsSafetensors.js';
export { wasmSimdAvailable } from './linalg/wasmKernels.js';
