export {
  MultiScaleResidualQuantizer,
  type MultiScaleResidualQuantizerConfig,
  type MultiScaleEncoding,
  type AutoregressiveStep,
} from './quantizer/multiScaleResidual.js';
export type { PatchNums, PatchSizes } from './quantizer/patchNums.js';
export { nearestCode } from './quantizer/nearestCode.js';
export { phiIndexMap } from './quantizer/phi.js';
export { VarVqvae, type VarVqvaeLoadReport } from './vqvae/varVqvae.js';
export {
  resolveVarVqvaeConfig,
  varVqvaeConfigFromReference,
  type VarVqvaeConfig,
  type ResolvedVarVqvaeConfig,
} from './vqvae/varVqvaeConfig.js';
export { GroundTruthMultiScaleQuantizer } from './quantizer/groundTruthMultiScale.js';
export {
  BaseDetailQuantizer,
  type BaseDetailQuantizerConfig,
  type BaseDetailLatents,
  type BaseDetailImageOptions,
  type BaseDetailStep,
  type BaseDetailPlan,
  type BaseDetailEncoding,
} from './quantizer/baseDetail.js';
export { GranularityQuantizer, type GranularityEncoding } from './quantizer/granularityQuantizer.js';
export { bisectClusters } from './quantizer/clusterBisection.js';
export { clusterMembers } from './quantizer/clusterMembers.js';
export { granularityClustering } from './quantizer/granularityClustering.js';
export { structureBits, structureLabels } from './quantizer/structureBits.js';
export { FlexVae } from './vqvae/flexVae.js';
export { type FlexVaeConfig, type ResolvedFlexVaeConfig, resolveFlexVaeConfig } from './vqvae/flexVaeConfig.js';
export { NvgAutoencoder } from './vqvae/nvgAutoencoder.js';
export {
  type NvgAutoencoderConfig,
  type ResolvedNvgAutoencoderConfig,
  resolveNvgAutoencoderConfig,
} from './vqvae/nvgAutoencoderConfig.js';
export type { AutoencoderLoadReport } from './vqvae/loadReport.js';
export type { Tokenizer, TokenPlan, TokenStep, GridStep, GranularityStep, StepSpec, StepKind, TokenizerFamily } from './tokenizer.js';
export { VarTokenizer, varTokenizerConfigFromReference, type VarTokenizerConfig } from './varTokenizer.js';
export { CartTokenizer, type CartTokenizerConfig } from './cartTokenizer.js';
export { FlexVarTokenizer, FLEXVAR_DEFAULT_PATCH_NUMS, type FlexVarTokenizerConfig } from './flexVarTokenizer.js';
export { NvgTokenizer, type NvgTokenizerConfig, type NvgEncodeOptions } from './nvgTokenizer.js';
export {
  fromPretrained,
  type FromPretrained,
  type PretrainedOptions,
  type VarPretrainedOptions,
  type CartPretrainedOptions,
  type FlexVarPretrainedOptions,
  type NvgPretrainedOptions,
} from './pretrained/fromPretrained.js';
export { openCheckpoint, type PretrainedSource, type OpenedCheckpoint } from './pretrained/openCheckpoint.js';
export { varTokenizerConfigFromShapes, VAR_256_PATCH_NUMS, type VarShapeOptions } from './pretrained/varConfigFromShapes.js';
export { flexVaeConfigFromShapes } from './pretrained/flexVaeConfigFromShapes.js';
export { nvgAutoencoderConfigFromShapes } from './pretrained/nvgConfigFromShapes.js';
export { VarTokenizerTrainer, type VarTokenizerTrainerConfig } from './training/varTokenizerTrainer.js';
export { CartTokenizerTrainer, type CartTokenizerTrainerConfig } from './training/cartTokenizerTrainer.js';
export { FlexVarTokenizerTrainer, type FlexVarTokenizerTrainerConfig } from './training/flexVarTokenizerTrainer.js';
export { NvgTokenizerTrainer, type NvgTokenizerTrainerConfig } from './training/nvgTokenizerTrainer.js';
export {
  type TrainingOptions,
  type AdamWConfig,
  type StepReport,
  type PerceptualLoss,
  type ReconstructionPair,
  type FamilyForward,
} from './training/trainerCore.js';
export { CodebookUsage } from './training/codebookUsage.js';
export type { CodebookInit } from './training/codebookInit.js';
export { PatchDiscriminator } from './training/patchDiscriminator.js';
export {
  TrainableMultiScaleQuantizer,
  type TrainableMultiScaleQuantizerConfig,
  type QuantizerForward,
} from './training/trainableMultiScaleQuantizer.js';
export {
  TrainableGroundTruthQuantizer,
  type TrainableGroundTruthQuantizerConfig,
  type GroundTruthForward,
} from './training/trainableGroundTruthQuantizer.js';
export { TrainableGranularityQuantizer, type TrainableGranularityQuantizerConfig } from './training/trainableGranularityQuantizer.js';
export { writeStateDict, toTorchLayout, type StateDictEntry } from './training/checkpoint.js';
export { sampleScales } from './training/scaleSampling.js';
export { syntheticShapes } from './training/syntheticShapes.js';
export type { AutoencoderLoadOptions } from './vqvae/parameterInit.js';
export type { LatentStepTokenizer } from './tokenizer.js';
export { TOKENIZER_TRAINING_KIND, type TrainingStateSource } from './training/trainingState.js';
