export { maskTopKTopP, type TopKTopPOptions } from './sampling/varTopKTopP.js';
export { maskDescendingTopP } from './sampling/descendingTopP.js';
export { sampleTokens, type SampleTokensOptions } from './sampling/sampleTokens.js';
export { gumbelSoftmax, moreSmoothWeights } from './sampling/gumbelSoftmax.js';
export {
  varGuidance,
  flexVarGuidance,
  linspace,
  nvgGuidance,
  NVG_CONTENT_GUIDANCE,
  NVG_STRUCTURE_GUIDANCE,
} from './guidance/guidanceWeights.js';
export { guidedLogits } from './guidance/guidedLogits.js';
export {
  VAR_PATCH_NUMS,
  FLEXVAR_PAPER_SCHEDULES,
  FLEXVAR_SCRIPT_SCHEDULES,
  squareSchedule,
  scaleSchedule,
  type ScaleSize,
} from './schedules/scaleSchedules.js';
export { nvgTopPSchedule } from './schedules/nvgSchedules.js';
export {
  generateScalePlan,
  FLEXVAR_SEEN_SCALES,
  type GuidanceRule,
  type ScaleLoopOptions,
  type ScaleStepEvent,
  type MaskedEdit,
} from './generate/scaleLoop.js';
export {
  generate,
  editImages,
  refineImages,
  extendImages,
  type Generation,
  type NvgImageOptions,
  type NvgStepEvent,
  type ImageEditOptions,
  type RefineOptions,
  type ExtendOptions,
} from './generate/imageGeneration.js';
export { flowSchedule } from './nvg/flowSchedule.js';
export { splitClusters } from './nvg/structureSplit.js';
export { sampleStructureCode, type StructureFlowInput } from './nvg/structureFlow.js';
export { guidedPrediction, refineSplit, STRUCTURE_SOURCES, type StructureSource } from './nvg/predictedStructure.js';
export { nvgStage, type NvgStageInput, type NvgStageOptions, type NvgStageResult } from './nvg/nvgStage.js';
export { nvgGenerate, type NvgGenerateOptions, type NvgGeneration, type NvgStageEvent } from './nvg/nvgGenerate.js';
export type { NvgNetworks, NvgRotaryTable } from './nvg/nvgNetworks.js';
export {
  writePipeline,
  convertPipeline,
  loadPipeline,
  disposePipeline,
  PIPELINE_KIND,
  type Pipeline,
  type PipelineMethod,
  type PipelineInfo,
  type PipelineParts,
  type TokenizerConfigOf,
  type WritePipelineOptions,
  type ConvertPipelineOptions,
} from './pipeline/pipelineFile.js';
export type { PipelineSampling } from './pipeline/pipelineSampling.js';
export { structureFromMap, checkStructureLabels, type StructureGuide } from './nvg/structureGuidance.js';
export { generateHighResolution, type HighResolutionOptions, type HighResolutionGeneration } from './generate/cartHighResolution.js';
