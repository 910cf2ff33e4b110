import { checkNumber, describeShape, InvalidArgumentError, ShapeError, type TensorSource } from '@nextdetail/core';
import { ropeAxesDims } from './structureAwareRope.js';

/** The sizes of an NVGformer, all read from the shapes of its state dict. */
export interface NvgConfig {
  /** Content transformer width D, depth, heads and per-head width. */
  width: number;
  depth: number;
  heads: number;
  headDim: number;
  /** Hidden width of each block's MLP branch (mlp_ratio·D). */
  mlpHidden: number;
  /** Structure transformer width D/2, depth, heads, per-head width and MLP width. */
  structureWidth: number;
  structureDepth: number;
  structureHeads: number;
  structureHeadDim: number;
  structureMlpHidden: number;
  /** Latent channels C and vocabulary V of the tokenizer. */
  cvae: number;
  vocabSize: number;
  /** Class count; the row `numClasses` of the class embeddings is the unconditional one. */
  numClasses: number;
  /** Stages S (2^s clusters at stage s) and positions P = 2^(S − 1) of the latent. */
  stages: number;
  positions: number;
  /** Channels W of the bit-style structure code (S − 1). */
  structureBits: number;
  /** Stages with a structure-flow prediction (structure_stage_embed rows). */
  structureStages: number;
  /** Width of the sinusoidal flow-time embedding. */
  timeEmbedDim: number;
  /** Axes of the RoPE ids (identity, W structure bits, row, column). */
  ropeAxes: number;
}

/** The free choices of an NVGformer; `nvgConfigFor` derives the rest. */
export interface NvgSizes {
  /** Stages S; the latent has P = 2^(S − 1) positions. */
  stages: number;
  /** The tokenizer's latent channels and vocabulary. */
  cvae: number;
  vocabSize: number;
  numClasses: number;
  /** Content transformer. */
  width: number;
  depth: number;
  heads: number;
  /** MLP hidden width per unit of width, for both transformers (default 4). */
  mlpRatio?: number;
  /** Structure transformer (default: half the content width, the same depth, half the heads). */
  structure?: { width: number; depth: number; heads: number };
  /** Width of the sinusoidal flow-time embedding (default 256). */
  timeEmbedDim?: number;
}

/**
 * A complete NVGformer config from its free sizes, for training from scratch: P = 2^(S − 1) positions, W = S − 1
 * structure bits, W + 3 RoPE axes, S − 2 structure-flow stages (no flow before the first split or after the last).
 * Head widths must leave room for the structure-aware RoPE axes (see ropeAxesDims).
 */
// NVG paper §2.2 and App. A.4; reference digest §3.3
export function nvgConfigFor(sizes: NvgSizes): NvgConfig {
  const { stages, cvae, vocabSize, numClasses, width, depth, heads, mlpRatio = 4, timeEmbedDim = 256 } = sizes;
  for (const [name, value, min] of [
    ['stages', stages, 3],
    ['cvae', cvae, 1],
    ['vocabSize', vocabSize, 1],
    ['numClasses', numClasses, 1],
    ['width', width, 1],
    ['depth', depth, 1],
    ['heads', heads, 1],
    ['timeEmbedDim', timeEmbedDim, 2],
  ] as const) {
    checkNumber(value, `sizes.${name}`, { integer: true, min });
  }
  checkNumber(mlpRatio, 'sizes.mlpRatio', { min: 0, exclusiveMin: true });
  const structure = sizes.structure ?? { width: width / 2, depth, heads: Math.max(1, heads / 2) };
  const headWidth = (w: number, h: number, argument: string) => {
    if (!Number.isInteger(w / h)) throw new InvalidArgumentError(argument, 'a width that is a multiple of the heads', `width ${w}, ${h} heads`);
    ropeAxesDims(w / h, stages - 1);
    return w / h;
  };
  const mlp = (w: number, argument: string) => {
    if (!Number.isInteger(w * mlpRatio)) throw new InvalidArgumentError(argument, 'an integer hidden width width·mlpRatio', `${w}·${mlpRatio}`);
    return w * mlpRatio;
  };
  return {
    width,
    depth,
    heads,
    headDim: headWidth(width, heads, 'sizes.heads'),
    mlpHidden: mlp(width, 'sizes.mlpRatio'),
    structureWidth: structure.width,
    structureDepth: structure.depth,
    structureHeads: structure.heads,
    structureHeadDim: headWidth(structure.width, structure.heads, 'sizes.structure'),
    structureMlpHidden: mlp(structure.width, 'sizes.mlpRatio'),
    cvae,
    vocabSize,
    numClasses,
    stages,
    positions: 2 ** (stages - 1),
    structureBits: stages - 1,
    structureStages: stages - 2,
    timeEmbedDim,
    ropeAxes: stages + 2,
  };
}

/** Every state-dict name (without the prefix) an NVGformer of `config` has, with its PyTorch shape. */
export function nvgParameterShapes(c: NvgConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {
    content_start_embed: [1, c.positions, c.cvae],
    rope_ids: [1, c.positions + 1, c.ropeAxes],
    scale_factors: [c.stages + 1],
    'content_embed.weight': [c.width, c.cvae],
    'content_embed.bias': [c.width],
    'content_class_embed.weight': [c.numClasses + 1, c.width],
    'content_stage_embed.weight': [c.stages, c.width],
    'x0_head.linear.weight': [c.cvae, c.width],
    'x0_head.linear.bias': [c.cvae],
    'x0_head.adaLN_modulation.1.weight': [2 * c.width, c.width],
    'x0_head.adaLN_modulation.1.bias': [2 * c.width],
    'cls_head.linear.weight': [c.vocabSize, c.cvae],
    'cls_head.linear.bias': [c.vocabSize],
    'structure_embed.weight': [c.structureWidth, c.structureBits],
    'structure_embed.bias': [c.structureWidth],
    'structure_class_embed.weight': [c.numClasses + 1, c.structureWidth],
    'structure_content_cond_embed.weight': [c.structureWidth, c.cvae],
    'structure_content_cond_embed.bias': [c.structureWidth],
    'structure_stage_embed.weight': [c.structureStages, c.structureWidth],
    'structure_time_embed.in_layer.weight': [c.structureWidth, c.timeEmbedDim],
    'structure_time_embed.in_layer.bias': [c.structureWidth],
    'structure_time_embed.out_layer.weight': [c.structureWidth, c.structureWidth],
    'structure_time_embed.out_layer.bias': [c.structureWidth],
    'structure_head.linear.weight': [c.structureBits, c.structureWidth],
    'structure_head.linear.bias': [c.structureBits],
    'structure_head.adaLN_modulation.1.weight': [2 * c.structureWidth, c.structureWidth],
    'structure_head.adaLN_modulation.1.bias': [2 * c.structureWidth],
  };
  const block = (name: string, d: number, hd: number, mlp: number) => {
    shapes[`${name}.linear1.weight`] = [3 * d + mlp, d];
    shapes[`${name}.linear1.bias`] = [3 * d + mlp];
    shapes[`${name}.linear2.weight`] = [d, d + mlp];
    shapes[`${name}.linear2.bias`] = [d];
    shapes[`${name}.norm.query_norm.scale`] = [hd];
    shapes[`${name}.norm.key_norm.scale`] = [hd];
    shapes[`${name}.modulation.lin.weight`] = [3 * d, d];
    shapes[`${name}.modulation.lin.bias`] = [3 * d];
  };
  for (let i = 0; i < c.depth; i++) block(`content_blocks.${i}`, c.width, c.headDim, c.mlpHidden);
  for (let i = 0; i < c.structureDepth; i++) block(`structure_blocks.${i}`, c.structureWidth, c.structureHeadDim, c.structureMlpHidden);
  return shapes;
}

/**
 * The config of the NVGformer stored under `prefix` (e.g. "nvgformer."), from tensor shapes only: D from
 * content_embed, depths from the block keys, head width from the QK-norm scales, V from cls_head, classes from the
 * class embeddings, S from content_stage_embed, P from content_start_embed, W from structure_embed.
 */
// Reference digest §3.3 (module list) and shared/fixtures/README.md "Writing tests that also pass the held-out set"
export function nvgConfigFromStateDict(source: TensorSource, prefix = ''): NvgConfig {
  const keys = new Set(source.keys());
  const shape = (name: string, rank: number): number[] => {
    if (!keys.has(prefix + name)) {
      throw new InvalidArgumentError('checkpoint', 'every parameter the model needs', `no ${prefix + name}`);
    }
    const s = source.info(prefix + name).shape;
    if (s.length !== rank || s.some((d) => !(d >= 1))) {
      throw new ShapeError(prefix + name, `a rank-${rank} shape`, `shape ${describeShape(s)} in the checkpoint`);
    }
    return s;
  };
  const count = (stack: string) => {
    let n = 0;
    while (keys.has(`${prefix}${stack}.${n}.linear1.weight`)) n++;
    if (n === 0) throw new InvalidArgumentError('checkpoint', `at least one ${prefix}${stack}.{i}.* block`, 'none');
    return n;
  };
  const [width, cvae] = shape('content_embed.weight', 2) as [number, number];
  const headDim = shape('content_blocks.0.norm.query_norm.scale', 1)[0]!;
  const [structureWidth, structureBits] = shape('structure_embed.weight', 2) as [number, number];
  const structureHeadDim = shape('structure_blocks.0.norm.query_norm.scale', 1)[0]!;
  const stages = shape('content_stage_embed.weight', 2)[0]!;
  const positions = shape('content_start_embed', 3)[1]!;
  const config: NvgConfig = {
    width,
    depth: count('content_blocks'),
    heads: width / headDim,
    headDim,
    mlpHidden: shape('content_blocks.0.linear1.weight', 2)[0]! - 3 * width,
    structureWidth,
    structureDepth: count('structure_blocks'),
    structureHeads: structureWidth / structureHeadDim,
    structureHeadDim,
    structureMlpHidden: shape('structure_blocks.0.linear1.weight', 2)[0]! - 3 * structureWidth,
    cvae,
    vocabSize: shape('cls_head.linear.weight', 2)[0]!,
    numClasses: shape('content_class_embed.weight', 2)[0]! - 1,
    stages,
    positions,
    structureBits,
    structureStages: shape('structure_stage_embed.weight', 2)[0]!,
    timeEmbedDim: shape('structure_time_embed.in_layer.weight', 2)[1]!,
    ropeAxes: shape('rope_ids', 3)[2]!,
  };
  const problems: string[] = [];
  if (!Number.isInteger(config.heads)) problems.push(`content width ${width} is not a multiple of the head width ${headDim}`);
  if (!Number.isInteger(config.structureHeads)) {
    problems.push(`structure width ${structureWidth} is not a multiple of the head width ${structureHeadDim}`);
  }
  if (positions !== 2 ** (stages - 1)) problems.push(`P = ${positions} positions with ${stages} stages (P must be 2^(S − 1))`);
  if (structureBits !== stages - 1) problems.push(`${structureBits} structure channels with ${stages} stages (must be S − 1)`);
  if (config.ropeAxes !== structureBits + 3) problems.push(`${config.ropeAxes} RoPE axes (must be W + 3 = ${structureBits + 3})`);
  if (config.structureStages > stages - 1) problems.push(`${config.structureStages} structure stages with ${stages} stages`);
  if (problems.length > 0) throw new ShapeError('checkpoint', 'the shapes of one NVGformer', problems.join('; '));
  return config;
}
