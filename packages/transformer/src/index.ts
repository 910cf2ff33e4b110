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
export { type GeneratorConfig, type ResolvedGeneratorConfig } from './generatorConfig.js';
