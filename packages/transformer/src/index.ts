export { ScaleGenerator, type Labels, type LoadOptions } from './scaleGenerator.js';
export {
  VarGenerator,
  resolveVarConfig,
  varConfigForDepth,
  varConfigFromStateDict,
  VAR_PATCH_NUMS_256,
  VAR_PATCH_NUMS_512,
  type VarConfig,
  type ResolvedVarConfig,
} from './varGenerator.js';
export {
  FlexVarGenerator,
  resolveFlexVarConfig,
  flexVarConfigForDepth,
  flexVarConfigFromStateDict,
  type FlexVarConfig,
  type ResolvedFlexVarConfig,
} from './flexVarGenerator.js';
export { KVCache } from './kvCache.js';
export { scaleLayout, type ScaleSize, type ScaleLayout } from './scales.js';

export {
  generatorConfigFromReference,
  resolveGeneratorConfig,
  type GeneratorConfig,
  type ResolvedGeneratorConfig,
} from './generatorConfig.js';
export { generatorConfigFromStateDict } from './configFromStateDict.js';
export { officialInitSource, type InitOptions } from './officialInit.js';
export { ParameterStore, torchStateDict, type ParameterSpecs } from './parameterStore.js';
export type { PositionEncoding } from './positionEncoding.js';
export { VarPositions } from './varPositions.js';
export { FlexVarPositions } from './flexVarPositions.js';
export { sinCos2dTable } from './sinCos2d.js';
export { blockCausalKeyLimits } from './blockCausalKeyLimits.js';
export type { KeysValues } from './selfAttention.js';
export { GeneratorTrainer, type TrainerOptions, type TrainingBatch, type TrainStepResult } from './training/generatorTrainer.js';
export { decays, varAdamW } from './training/varAdamW.js';
export { crossEntropy } from './training/crossEntropy.js';
export { learningRateAt, type LearningRateSchedule } from './training/learningRate.js';
export { dropConditions } from './training/conditionDropout.js';
export { NvgGenerator } from './nvg/nvgGenerator.js';
export { nvgInitSource } from './nvg/nvgInit.js';
export { NvgContentGenerator, type NvgContentInput } from './nvg/nvgContentGenerator.js';
export { NvgStructureGenerator, type NvgStructureInput } from './nvg/nvgStructureGenerator.js';
export { nvgConfigFor, nvgConfigFromStateDict, nvgParameterShapes, type NvgConfig, type NvgSizes } from './nvg/nvgConfig.js';
export { ropeAxesDims, contentRopeIds, structureRopeIds, rotaryTable, type RotaryTable } from './nvg/structureAwareRope.js';
export { timestepEmbedding } from './nvg/timestepEmbedding.js';
export {
  NvgTrainer,
  nvgContentLoss,
  nvgStructureLoss,
  clusterTokens,
  logitNormalTimes,
  type NvgContentBatch,
  type NvgStructureBatch,
  type NvgContentLosses,
} from './nvg/nvgTraining.js';
