import type * as tf from '@tensorflow/tfjs-core';
import {
  checkTensor,
  describeShape,
  InvalidArgumentError,
  type RandomGenerator,
  ShapeError,
  type StateDictReport,
  type TensorSource,
  type WritableRawTensor,
} from '@nextdetail/core';
import { generatorConfigFromStateDict } from './configFromStateDict.js';
import { type GeneratorConfig, resolveGeneratorConfig, type ResolvedGeneratorConfig } from './generatorConfig.js';
import type { KVCache } from './kvCache.js';
import type { InitOptions } from './officialInit.js';
import type { ParameterSpecs, ParameterStore } from './parameterStore.js';
import { type Labels, type LoadOptions, ScaleGenerator } from './scaleGenerator.js';
import { scaleLayout, type ScaleSize } from './scales.js';
import { VarPositions } from './varPositions.js';

/** VAR's 256 px schedule (FoundationVision/VAR@78b9539:models/__init__.py). */
export const VAR_PATCH_NUMS_256 = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16] as const;
/** VAR's 512 px schedule (d36, shared AdaLN). */
export const VAR_PATCH_NUMS_512 = [1, 2, 3, 4, 6, 9, 13, 18, 24, 32] as const;

export interface VarConfig extends GeneratorConfig {
  /** The fixed square schedule the position table is trained for (default the 256 px one). */
  patchNums?: readonly number[];
}

export type ResolvedVarConfig = ResolvedGeneratorConfig & { patchNums: number[] };

const VAR_VOCAB_SIZE = 4096;

export function resolveVarConfig(config: VarConfig): ResolvedVarConfig {
  const c = resolveGeneratorConfig(config, VAR_VOCAB_SIZE);
  const patchNums = [...(config.patchNums ?? VAR_PATCH_NUMS_256)];
  scaleLayout(patchNums, 'config.patchNums');
  return { ...c, patchNums };
}

/**
 * The official VAR configuration of depth `depth` (16, 20, 24, 30, 36 were released): width 64·depth, depth heads;
 * d36 is the 512 px model with shared AdaLN.
 */
export function varConfigForDepth(depth: number, overrides: Partial<VarConfig> = {}): ResolvedVarConfig {
  const d36 = depth === 36;
  return resolveVarConfig({
    depth,
    ...(d36 ? { sharedAdaLn: true, patchNums: VAR_PATCH_NUMS_512 } : {}),
    ...overrides,
  });
}

/** The VAR config of a state dict: shapes as in `generatorConfigFromStateDict`, the schedule from the `lvl_1L` buffer. */
export async function varConfigFromStateDict(source: TensorSource, prefix = ''): Promise<ResolvedVarConfig> {
  const base = generatorConfigFromStateDict(source, prefix);
  if (!source.keys().includes(`${prefix}lvl_1L`)) {
    throw new InvalidArgumentError('source', `a VAR state dict with the "${prefix}lvl_1L" buffer (the schedule)`, 'none');
  }
  const lvl = await source.tensor(`${prefix}lvl_1L`);
  const levels = Array.from(await lvl.data());
  lvl.dispose();
  const counts: number[] = [];
  for (const l of levels) counts[l] = (counts[l] ?? 0) + 1;
  const patchNums = counts.map((n, si) => {
    const pn = Math.round(Math.sqrt(n ?? 0));
    if (pn * pn !== n) throw new InvalidArgumentError(`${prefix}lvl_1L`, 'a square token count per scale', `${n} tokens at scale ${si}`);
    return pn;
  });
  return resolveVarConfig({ ...base, patchNums });
}

// FoundationVision/VAR@78b9539:models/var.py VAR: the AdaLN transformer with VAR's level + absolute positions.
/** VAR's class-conditional next-scale generator. */
export class VarGenerator extends ScaleGenerator {
  /** Every parameter's reference name, PyTorch shape and layout (buffers excluded), for `loadStateDict`. */
  static stateDictSpec(config: VarConfig): ParameterSpecs {
    const c = resolveVarConfig(config);
    return ScaleGenerator.buildSpec(c, new VarPositions(c.patchNums));
  }

  /**
   * Loads the official names key-for-key (a `.pth` from core's readPytorch or a safetensors file). Without `config`
   * the architecture is read off the state dict (`varConfigFromStateDict`).
   */
  static async fromStateDict(source: TensorSource, config?: VarConfig, options: LoadOptions = {}): Promise<VarGenerator> {
    const c = config ? resolveVarConfig(config) : await varConfigFromStateDict(source, options.prefix ?? '');
    const positions = new VarPositions(c.patchNums);
    const { params, report } = await ScaleGenerator.loadParameters(source, ScaleGenerator.buildSpec(c, positions), options);
    return new VarGenerator(c, params, positions, report);
  }

  /** A fresh model with the official initialisation, drawn from `rng`. */
  static async init(config: VarConfig, rng: RandomGenerator, options: InitOptions = {}): Promise<VarGenerator> {
    const c = resolveVarConfig(config);
    const positions = new VarPositions(c.patchNums);
    const params = await ScaleGenerator.initParameters(ScaleGenerator.buildSpec(c, positions), c, rng, options);
    return new VarGenerator(c, params, positions, { missing: [], unused: [], ignored: [] });
  }

  declare readonly config: ResolvedVarConfig;

  private constructor(c: ResolvedVarConfig, params: ParameterStore, positions: VarPositions, report: StateDictReport) {
    super(c, params, positions, report);
  }

  /**
   * VAR.forward: teacher-forced logits [B, L, V] from labels [B] and the tokenizer's teacher-forcing input
   * `x_BLCv_wo_first_l` [B, L − 1, Cv]. L is the whole schedule's length or that of one of its prefixes.
   */
  forward(label_B: Labels, x_BLCv_wo_first_l: tf.Tensor3D): tf.Tensor3D {
    checkTensor(x_BLCv_wo_first_l, 'x_BLCv_wo_first_l', { rank: 3, dtype: 'float32' });
    const want = x_BLCv_wo_first_l.shape[1] + 1;
    let L = 0;
    const prefix = this.config.patchNums.findIndex((pn) => (L += pn * pn) === want);
    if (prefix < 0) {
      throw new ShapeError(
        'x_BLCv_wo_first_l',
        `[B, L − 1, ${this.config.latentChannels}] with L = Σ pn² of a prefix of patchNums [${this.config.patchNums.join(', ')}]`,
        describeShape(x_BLCv_wo_first_l.shape),
      );
    }
    return this.forwardScales(label_B, x_BLCv_wo_first_l, this.config.patchNums.slice(0, prefix + 1));
  }

  /** VAR's `lvl_1L` [1, L] int64: the scale of every token, from which `varConfigFromStateDict` reads the schedule. */
  protected override buffers(): Record<string, WritableRawTensor> {
    const levels = this.config.patchNums.flatMap((pn, si) => Array.from({ length: pn * pn }, () => BigInt(si)));
    return { lvl_1L: { dtype: 'I64', shape: [1, levels.length], data: BigInt64Array.from(levels) } };
  }

  /** A KV cache for generating the model's schedule (or a prefix of it) for `label_B`. */
  createCache(label_B: Labels, scales: readonly ScaleSize[] = this.config.patchNums): KVCache {
    return this.createCacheFor(label_B, scales);
  }
}
