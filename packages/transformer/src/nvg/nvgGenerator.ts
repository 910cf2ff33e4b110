import * as tf from '@tensorflow/tfjs-core';
import {
  checkTensor,
  checkValues,
  describeShape,
  describeValue,
  InvalidArgumentError,
  loadStateDict,
  type ParameterSpec,
  type RandomGenerator,
  ShapeError,
  type StateDictReport,
  type TensorSource,
  type WritableRawTensor,
} from '@nextdetail/core';
import { type NvgConfig, nvgConfigFromStateDict, nvgParameterShapes } from './nvgConfig.js';
import { NvgContentGenerator } from './nvgContentGenerator.js';
import { nvgInitSource } from './nvgInit.js';
import { NvgStructureGenerator } from './nvgStructureGenerator.js';
import { BLOCK_TENSOR_NAMES, mergeBlockTensors, splitBlockTensors } from './singleStreamBlock.js';
import { contentRopeIds, type RotaryTable, ropeAxesDims, rotaryTable, structureRopeIds } from './structureAwareRope.js';

/** Buffers of the state dict: read, but not trained. */
const BUFFERS = ['rope_ids', 'scale_factors'];

/**
 * NVG's NVGformer: the content generator and the structure generator with the embeddings and buffers they share
 * a state dict with. Owns every parameter (as trainable tf.Variables); `dispose()` frees them.
 */
// NVG paper §2.2 and App. A.4; reference digest §3.3
export class NvgGenerator {
  readonly content: NvgContentGenerator;
  readonly structure: NvgStructureGenerator;
  /** RoPE axis widths of the content and structure heads. */
  readonly contentAxesDims: number[];
  readonly structureAxesDims: number[];

  private constructor(
    readonly config: NvgConfig,
    private readonly variables: Map<string, tf.Variable>,
    /** The `rope_ids` buffer [P + 1, A] (class token, then positions with their row and column). */
    private readonly baseRopeIds: Float32Array,
    private readonly scaleFactors: tf.Tensor,
    readonly report: StateDictReport,
  ) {
    this.content = new NvgContentGenerator(config, variables, scaleFactors);
    this.structure = new NvgStructureGenerator(config, variables);
    this.contentAxesDims = ropeAxesDims(config.headDim, config.structureBits);
    this.structureAxesDims = ropeAxesDims(config.structureHeadDim, config.structureBits);
  }

  /** A fresh generator for `config` (for training from scratch), drawn from `rng` (see `nvgInitSource`). */
  static async init(config: NvgConfig, rng: RandomGenerator, options: { scaleFactors?: readonly number[] } = {}): Promise<NvgGenerator> {
    return NvgGenerator.fromStateDict(await nvgInitSource(config, rng, options), { prefix: '' });
  }

  /**
   * Loads the `nvgformer.*` state dict (`prefix` "nvgformer.", or "ema_model.nvgformer." for the EMA weights of a
   * Lightning checkpoint). Every size comes from the tensor shapes; other names (first-stage model, REPA) are
   * reported as unused, as is the REPA `projector`.
   */
  static async fromStateDict(source: TensorSource, { prefix = 'nvgformer.' }: { prefix?: string } = {}): Promise<NvgGenerator> {
    if (typeof prefix !== 'string') throw new InvalidArgumentError('prefix', 'a string', describeValue(prefix));
    const config = nvgConfigFromStateDict(source, prefix);
    const spec: Record<string, ParameterSpec> = {};
    for (const [name, shape] of Object.entries(nvgParameterShapes(config))) {
      spec[name] = { shape, transform: isLinearWeight(name, shape) ? 'linear' : 'none' };
    }
    const { tensors, report } = await loadStateDict(source, spec, { prefix });
    const variables = new Map<string, tf.Variable>();
    try {
      const host = async (name: string) => (await tensors.get(name)!.data()) as Float32Array;
      const baseRopeIds = Float32Array.from(await host('rope_ids'));
      const stack = (name: string, depth: number, d: number, heads: number, mlp: number) =>
        Array.from({ length: depth }, (_, i) => ({ block: `${name}.${i}`, d, heads, mlp }));
      const blocks = [
        ...stack('content_blocks', config.depth, config.width, config.heads, config.mlpHidden),
        ...stack('structure_blocks', config.structureDepth, config.structureWidth, config.structureHeads, config.structureMlpHidden),
      ];
      const blockNames = new Set<string>();
      for (const { block, d, heads, mlp } of blocks) {
        const read = async (suffix: string) => {
          blockNames.add(`${block}.${suffix}`);
          return host(`${block}.${suffix}`);
        };
        const sd = {
          modulationWeight: await read('modulation.lin.weight'),
          modulationBias: await read('modulation.lin.bias'),
          linear1Weight: await read('linear1.weight'),
          linear1Bias: await read('linear1.bias'),
          linear2Weight: await read('linear2.weight'),
          linear2Bias: await read('linear2.bias'),
          queryScale: await read('norm.query_norm.scale'),
          keyScale: await read('norm.key_norm.scale'),
        };
        splitBlockTensors(sd, d, heads, mlp).forEach(({ data, shape }, k) => {
          const t = tf.tensor(data, shape, 'float32');
          variables.set(`${block}.${BLOCK_TENSOR_NAMES[k]}`, tf.variable(t, true));
          t.dispose();
        });
      }
      for (const [name, t] of tensors) {
        if (!BUFFERS.includes(name) && !blockNames.has(name)) variables.set(name, tf.variable(t, true));
      }
      return new NvgGenerator(config, variables, baseRopeIds, tf.clone(tensors.get('scale_factors')!), report);
    } catch (err) {
      tf.dispose([...variables.values()]);
      throw err;
    } finally {
      tf.dispose([...tensors.values()]);
    }
  }

  /**
   * The trainable parameters: state-dict names without the prefix, except that each block's `linear1`, `linear2` and
   * QK-norm scales are held rearranged (see SingleStreamBlockParams) under `{block}.{BLOCK_TENSOR_NAMES}`.
   */
  trainableVariables(): ReadonlyMap<string, tf.Variable> {
    return this.variables;
  }

  /**
   * RoPE tables of the content sequence [class, P image tokens] for the stage's structure code `bits_BPW` (int32
   * [B, P, W] from structureBits: 0/2 known bits, 1 unknown). Reads the code back once. The caller owns the result.
   */
  // Reference digest §3.3 "RoPE"
  async contentRope(bits_BPW: tf.Tensor): Promise<RotaryTable> {
    const [batch, bits] = await this.readBits(bits_BPW);
    const ids = contentRopeIds(this.baseRopeIds, bits, batch, this.config.ropeAxes);
    return rotaryTable(ids, batch, this.config.positions + 1, this.contentAxesDims);
  }

  /** RoPE tables of the structure sequence [class, P canvas tokens, P structure tokens]; as contentRope. */
  async structureRope(bits_BPW: tf.Tensor): Promise<RotaryTable> {
    const [batch, bits] = await this.readBits(bits_BPW);
    const ids = structureRopeIds(this.baseRopeIds, bits, batch, this.config.ropeAxes);
    return rotaryTable(ids, batch, 1 + 2 * this.config.positions, this.structureAxesDims);
  }

  /**
   * The model as its reference state dict (PyTorch layout, names without the `nvgformer.` prefix unless `prefix` is
   * given, buffers included), ready for core's `writeSafetensors`; `fromStateDict` reads it back.
   */
  async stateDict({ prefix = '' }: { prefix?: string } = {}): Promise<Record<string, WritableRawTensor>> {
    const c = this.config;
    const shapes = nvgParameterShapes(c);
    const host = async (t: tf.Tensor) => Float32Array.from(await t.data());
    const tfjsLayout = new Map<string, Float32Array>();
    const blocks = [
      ...Array.from({ length: c.depth }, (_, i) => ({ block: `content_blocks.${i}`, d: c.width, heads: c.heads, mlp: c.mlpHidden })),
      ...Array.from({ length: c.structureDepth }, (_, i) => ({
        block: `structure_blocks.${i}`,
        d: c.structureWidth,
        heads: c.structureHeads,
        mlp: c.structureMlpHidden,
      })),
    ];
    for (const { block, d, heads, mlp } of blocks) {
      const parts = await Promise.all(BLOCK_TENSOR_NAMES.map((n) => host(this.variables.get(`${block}.${n}`)!)));
      const sd = mergeBlockTensors(parts, d, heads, mlp);
      tfjsLayout.set(`${block}.modulation.lin.weight`, sd.modulationWeight);
      tfjsLayout.set(`${block}.modulation.lin.bias`, sd.modulationBias);
      tfjsLayout.set(`${block}.linear1.weight`, sd.linear1Weight);
      tfjsLayout.set(`${block}.linear1.bias`, sd.linear1Bias);
      tfjsLayout.set(`${block}.linear2.weight`, sd.linear2Weight);
      tfjsLayout.set(`${block}.linear2.bias`, sd.linear2Bias);
      tfjsLayout.set(`${block}.norm.query_norm.scale`, sd.queryScale);
      tfjsLayout.set(`${block}.norm.key_norm.scale`, sd.keyScale);
    }
    tfjsLayout.set('rope_ids', this.baseRopeIds);
    tfjsLayout.set('scale_factors', await host(this.scaleFactors));
    const out: Record<string, WritableRawTensor> = {};
    for (const [name, shape] of Object.entries(shapes)) {
      const data = tfjsLayout.get(name) ?? (await host(this.variables.get(name)!));
      out[prefix + name] = { dtype: 'F32', shape: [...shape], data: isLinearWeight(name, shape) ? transpose2d(data, shape[1]!, shape[0]!) : data };
    }
    return out;
  }

  dispose(): void {
    tf.dispose([...this.variables.values(), this.scaleFactors]);
    this.variables.clear();
  }

  private async readBits(bits_BPW: tf.Tensor): Promise<[number, Int32Array]> {
    const c = this.config;
    checkTensor(bits_BPW, 'bits_BPW', { rank: 3, dtype: 'int32' });
    const [b, p, w] = bits_BPW.shape as [number, number, number];
    if (b < 1 || p !== c.positions || w !== c.structureBits) {
      throw new ShapeError('bits_BPW', `[B ≥ 1, ${c.positions}, ${c.structureBits}] (B, P, W)`, describeShape(bits_BPW.shape));
    }
    await checkValues(bits_BPW, 'bits_BPW', { min: 0, max: 2, label: 'structure code values 0, 1 or 2' });
    return [b, (await bits_BPW.data()) as Int32Array];
  }
}

/** A row-major [rows, cols] matrix transposed (tfjs Linear [in, out] → PyTorch [out, in]). */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j]!;
  return out;
}

/** Every 2-D weight is a Linear's [out, in] except the class and stage embedding tables. */
function isLinearWeight(name: string, shape: readonly number[]): boolean {
  return name.endsWith('.weight') && shape.length === 2 && !/(class|stage)_embed\.weight$/.test(name);
}
