import type * as tf from '@tensorflow/tfjs-core';
import { checkNumber, InvalidArgumentError, type RandomGenerator, type StateDictReport, type TensorSource } from '@nextdetail/core';
import { generatorConfigFromStateDict } from './configFromStateDict.js';
import { type GeneratorConfig, resolveGeneratorConfig, type ResolvedGeneratorConfig } from './generatorConfig.js';
import { FlexVarPositions } from './flexVarPositions.js';
import type { KVCache } from './kvCache.js';
import type { InitOptions } from './officialInit.js';
import type { ParameterSpecs, ParameterStore } from './parameterStore.js';
import { type Labels, type LoadOptions, ScaleGenerator } from './scaleGenerator.js';
import type { ScaleSize } from './scales.js';

export interface FlexVarConfig extends GeneratorConfig {
  /** Side S of the learned position table [1, C, S, S] (2·max_pn; default 32). */
  positionSide?: number;
}

export type ResolvedFlexVarConfig = ResolvedGeneratorConfig & { positionSide: number };

const FLEXVAR_VOCAB_SIZE = 8912;

export function resolveFlexVarConfig(config: FlexVarConfig): ResolvedFlexVarConfig {
  const c = resolveGeneratorConfig(config, FLEXVAR_VOCAB_SIZE);
  const positionSide = config.positionSide ?? 32;
  checkNumber(positionSide, 'config.positionSide', { min: 1, integer: true });
  return { ...c, positionSide };
}

/** The released FlexVAR configuration of depth `depth` (16, 20, 24): width 64·depth, depth heads, V 8912. */
export function flexVarConfigForDepth(depth: number, overrides: Partial<FlexVarConfig> = {}): ResolvedFlexVarConfig {
  return resolveFlexVarConfig({ depth, ...overrides });
}

/** The FlexVAR config of a state dict (shapes as in `generatorConfigFromStateDict`; S from pos_1LC). */
export function flexVarConfigFromStateDict(source: TensorSource, prefix = ''): ResolvedFlexVarConfig {
  const base = generatorConfigFromStateDict(source, prefix);
  const name = `${prefix}pos_1LC`;
  const shape = source.keys().includes(name) ? source.info(name).shape : [];
  if (shape.length !== 4 || shape[2] !== shape[3]) {
    throw new InvalidArgumentError(name, 'a FlexVAR position table [1, C, S, S]', `shape [${shape.join(', ')}]`);
  }
  return resolveFlexVarConfig({ ...base, positionSide: shape[2]! });
}

// jiaosiyu1999/FlexVAR@04462cb:models/flexvar.py FlexVAR: VAR's blocks and head, no level embedding, a 2-D position
// table area-resampled to every scale, so any schedule, resolution and aspect ratio runs on one set of weights.
/** FlexVAR's class-conditional generator for any schedule of grids. */
export class FlexVarGenerator extends ScaleGenerator {
  static stateDictSpec(config: FlexVarConfig): ParameterSpecs {
    const c = resolveFlexVarConfig(config);
    return ScaleGenerator.buildSpec(c, new FlexVarPositions(c.positionSide));
  }

  /**
   * Loads the official names (a bare state dict; `.pth` files nested under `model` are opened that way by core's
   * readPytorch; `prefix` for flattened exports such as the fixture's "flexvar."). Without `config` the architecture
   * is read off the state dict.
   */
  static async fromStateDict(source: TensorSource, config?: FlexVarConfig, options: LoadOptions = {}): Promise<FlexVarGenerator> {
    const c = config ? resolveFlexVarConfig(config) : flexVarConfigFromStateDict(source, options.prefix ?? '');
    const positions = new FlexVarPositions(c.positionSide);
    const { params, report } = await ScaleGenerator.loadParameters(source, ScaleGenerator.buildSpec(c, positions), options);
    return new FlexVarGenerator(c, params, positions, report);
  }

  /** A fresh model with the official initialisation (positions at their 2-D sin-cos values), drawn from `rng`. */
  static async init(config: FlexVarConfig, rng: RandomGenerator, options: InitOptions = {}): Promise<FlexVarGenerator> {
    const c = resolveFlexVarConfig(config);
    const positions = new FlexVarPositions(c.positionSide);
    const params = await ScaleGenerator.initParameters(ScaleGenerator.buildSpec(c, positions), c, rng, options);
    return new FlexVarGenerator(c, params, positions, { missing: [], unused: [], ignored: [] });
  }

  declare readonly config: ResolvedFlexVarConfig;

  private constructor(c: ResolvedFlexVarConfig, params: ParameterStore, positions: FlexVarPositions, report: StateDictReport) {
    super(c, params, positions, report);
  }

  /**
   * FlexVAR.forward: teacher-forced logits [B, L, V] for the schedule `patchNums` (sides or [h, w] grids), with
   * `x_BLCv_wo_first_l` [B, L − 1, Cv] the upsampled ground truth of every scale but the last.
   */
  forward(label_B: Labels, x_BLCv_wo_first_l: tf.Tensor3D, patchNums: readonly ScaleSize[]): tf.Tensor3D {
    return this.forwardScales(label_B, x_BLCv_wo_first_l, patchNums);
  }

  /** A KV cache for generating the schedule `patchNums` (any grids) for `label_B`. */
  createCache(label_B: Labels, patchNums: readonly ScaleSize[]): KVCache {
    return this.createCacheFor(label_B, patchNums);
  }
}
