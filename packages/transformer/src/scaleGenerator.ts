import * as tf from '@tensorflow/tfjs-core';
import {
  checkTensor,
  describeShape,
  describeValue,
  InvalidArgumentError,
  loadStateDict,
  type RandomGenerator,
  ShapeError,
  type StateDictReport,
  type TensorSource,
  type WritableRawTensor,
} from '@nextdetail/core';
import { modulate, silu } from './activations.js';
import { adaLnBlock, adaLnBlockSpec } from './adaLnBlock.js';
import { blockCausalKeyLimits } from './blockCausalKeyLimits.js';
import type { ResolvedGeneratorConfig } from './generatorConfig.js';
import { KVCache } from './kvCache.js';
import { linear, linearSpec } from './linear.js';
import { type InitOptions, officialInitSource } from './officialInit.js';
import { type ParameterSpecs, ParameterStore } from './parameterStore.js';
import type { PositionEncoding } from './positionEncoding.js';
import { scaleLayout, type ScaleLayout, type ScaleSize } from './scales.js';
import type { KeysValues } from './selfAttention.js';

/** Class labels of a batch: int32 [B], or plain integers (then checked against [0, numClasses]). */
export type Labels = tf.Tensor1D | readonly number[] | Int32Array;

export interface LoadOptions {
  /** Prepended to every reference name when looking it up, e.g. "model." or the fixture's "flexvar.". */
  prefix?: string;
}

/**
 * The shared body of VAR and FlexVAR (FoundationVision/VAR@78b9539:models/var.py, models/basic_var.py;
 * jiaosiyu1999/FlexVAR@04462cb:models/flexvar.py): class embedding with one extra unconditional row, start token,
 * word embedding of the latent inputs, AdaLN blocks with block-causal attention, AdaLN head. Subclasses choose the
 * position encoding. Parameters are tf.Variables keyed by their reference names (`params`).
 */
export class ScaleGenerator {
  /** Every parameter (reference name → PyTorch shape, layout transform) for `c` with position encoding `positions`. */
  protected static buildSpec(c: ResolvedGeneratorConfig, positions: PositionEncoding): ParameterSpecs {
    const C = c.width;
    const blocks: ParameterSpecs = {};
    for (let i = 0; i < c.depth; i++) Object.assign(blocks, adaLnBlockSpec(`blocks.${i}`, c));
    const { pos_1LC, ...otherPositions } = positions.spec(c);
    return {
      pos_start: { shape: [1, 1, C] },
      ...(pos_1LC ? { pos_1LC } : {}),
      ...linearSpec('word_embed', c.latentChannels, C),
      'class_emb.weight': { shape: [c.numClasses + 1, C] },
      ...otherPositions,
      ...(c.sharedAdaLn ? linearSpec('shared_ada_lin.1', C, 6 * C) : {}),
      ...blocks,
      ...linearSpec('head_nm.ada_lin.1', C, 2 * C),
      ...linearSpec('head', C, c.vocabSize),
    };
  }

  protected static async loadParameters(
    source: TensorSource,
    spec: ParameterSpecs,
    options: LoadOptions,
  ): Promise<{ params: ParameterStore; report: StateDictReport }> {
    const { tensors, report } = await loadStateDict(source, spec, { prefix: options.prefix ?? '' });
    return { params: ParameterStore.fromTensors(spec, tensors), report };
  }

  protected static async initParameters(
    spec: ParameterSpecs,
    c: ResolvedGeneratorConfig,
    rng: RandomGenerator,
    options: InitOptions,
  ): Promise<ParameterStore> {
    const { tensors } = await loadStateDict(officialInitSource(spec, c, rng, options), spec);
    return ParameterStore.fromTensors(spec, tensors);
  }

  protected constructor(
    readonly config: ResolvedGeneratorConfig,
    /** The parameters as trainable variables under their reference names (what a training step updates). */
    readonly params: ParameterStore,
    protected readonly positionEncoding: PositionEncoding,
    /** What loading found besides the parameters (`unused`, `ignored` buffers); empty for a fresh init. */
    readonly report: StateDictReport,
  ) {}

  /** Number of scalar parameters (buffers excluded). */
  get parameterCount(): number {
    return this.params.count();
  }

  /**
   * Teacher-forced logits [B, L, V] for the schedule `scales` (any schedule the position encoding supports):
   * `x_BLCv` [B, L − 1, Cv] holds the inputs of every scale after the first, concatenated; attention is block-causal.
   */
  forwardScales(label_B: Labels, x_BLCv: tf.Tensor3D, scales: readonly ScaleSize[]): tf.Tensor3D {
    const layout = this.layoutOf(scales, 'patchNums');
    checkTensor(x_BLCv, 'x_BLCv_wo_first_l', { rank: 3, dtype: 'float32' });
    const [B, Lm1, Cv] = x_BLCv.shape;
    if (Lm1 !== layout.length - 1 || Cv !== this.config.latentChannels) {
      throw new ShapeError(
        'x_BLCv_wo_first_l',
        `[B, ${layout.length - 1}, ${this.config.latentChannels}] (L − 1 tokens of the schedule, latentChannels)`,
        describeShape(x_BLCv.shape),
      );
    }
    return this.withLabels(label_B, B, (labels) =>
      tf.tidy(() => {
        const cond_BC = this.classEmbedding(labels);
        const sos_B1C = tf.add(tf.expandDims(cond_BC, 1), this.params.get('pos_start'));
        const tokens = Lm1 > 0 ? [sos_B1C, this.wordEmbed(x_BLCv)] : [sos_B1C];
        const x_BLC = tf.add(tf.concat(tokens, 1), this.positionEncoding.positions(this.params, layout));
        return this.body(x_BLC, cond_BC, blockCausalKeyLimits(layout), null).logits_BLV;
      }),
    );
  }

  /**
   * Starts a KV-cached generation of the schedule `scales` for the rows `label_B` (any batch, e.g. conditional and
   * unconditional rows for CFG; the unconditional label is `numClasses`). The caller disposes the cache.
   */
  createCacheFor(label_B: Labels, scales: readonly ScaleSize[]): KVCache {
    const layout = this.layoutOf(scales, 'patchNums');
    const B = label_B instanceof tf.Tensor ? label_B.shape[0] : ((label_B as { length?: number } | null)?.length ?? 0);
    const cond_BC = this.withLabels(label_B, B, (labels) => tf.tidy(() => this.classEmbedding(labels)));
    return new KVCache(layout, cond_BC as tf.Tensor2D, this.config.depth);
  }

  /**
   * Runs the cache's next scale and returns its logits [B, h·w, V]. The first step takes no input (the start token
   * is the class embedding plus `pos_start`); later steps take that scale's inputs `x_BlCv` [B, h·w, Cv] (the
   * tokenizer's next-scale input). Appends the scale's keys/values to the cache.
   */
  step(cache: KVCache, x_BlCv?: tf.Tensor3D | null): tf.Tensor3D {
    if (!(cache instanceof KVCache) || cache.isDisposed) {
      throw new InvalidArgumentError('cache', 'a live KVCache from createCache', describeValue(cache));
    }
    if (cache.done) {
      throw new InvalidArgumentError('cache', `a cache with scales left to run`, `all ${cache.layout.sizes.length} scales done`);
    }
    const si = cache.stepIndex;
    const [h, w] = cache.layout.sizes[si]!;
    if (si === 0) {
      if (x_BlCv != null) {
        throw new InvalidArgumentError('x_BlCv', 'null at the first step (the start token has no input)', describeValue(x_BlCv));
      }
    } else {
      checkTensor(x_BlCv, 'x_BlCv', { rank: 3, dtype: 'float32' });
      const expected = [cache.batch, h * w, this.config.latentChannels];
      if (x_BlCv.shape.some((d, i) => d !== expected[i])) {
        throw new ShapeError('x_BlCv', `${describeShape(expected)} (batch, tokens of scale ${si}, latentChannels)`, describeShape(x_BlCv.shape));
      }
    }
    const { logits_BLV, kv } = tf.tidy(() => {
      const cond_BC = cache.cond_BC;
      const pos_1lC = this.positionEncoding.scalePositions(this.params, cache.layout, si);
      const x_BlC =
        si === 0
          ? tf.add(tf.add(tf.expandDims(cond_BC, 1), this.params.get('pos_start')), pos_1lC)
          : tf.add(this.wordEmbed(x_BlCv!), pos_1lC);
      const past = Array.from({ length: this.config.depth }, (_, i) => cache.block(i));
      return this.body(x_BlC, cond_BC, null, past);
    });
    cache.advance(kv);
    return logits_BLV;
  }

  /**
   * The model as a reference-named state dict in PyTorch layout (parameters plus the buffers the reference loaders
   * read, e.g. VAR's `lvl_1L`), ready for core's `writeSafetensors`.
   */
  async stateDict(): Promise<Record<string, WritableRawTensor>> {
    return { ...(await this.params.toStateDict()), ...this.buffers() };
  }

  dispose(): void {
    this.params.dispose();
  }

  /** Buffers written next to the parameters by `stateDict` (none by default). */
  protected buffers(): Record<string, WritableRawTensor> {
    return {};
  }

  /** The resolved layout of `scales`, checked against the position encoding. */
  protected layoutOf(scales: readonly ScaleSize[], argument: string): ScaleLayout {
    const layout = scaleLayout(scales, argument);
    this.positionEncoding.checkLayout(layout, argument);
    return layout;
  }

  private wordEmbed(x_BLCv: tf.Tensor): tf.Tensor {
    return linear(x_BLCv, this.params.get('word_embed.weight'), this.params.get('word_embed.bias'));
  }

  private classEmbedding(label_B: tf.Tensor1D): tf.Tensor2D {
    return tf.gather(this.params.get<tf.Tensor2D>('class_emb.weight'), label_B);
  }

  /** Checks the labels and runs `fn` on them as an int32 tensor (created here from plain integers, then freed). */
  private withLabels<T>(label_B: Labels, batch: number, fn: (labels: tf.Tensor1D) => T): T {
    const nc = this.config.numClasses;
    if (label_B instanceof tf.Tensor) {
      checkTensor(label_B, 'label_B', { rank: 1, dtype: 'int32' });
      if (label_B.shape[0] !== batch) throw new ShapeError('label_B', `[${batch}] (the batch)`, describeShape(label_B.shape));
      return fn(label_B);
    }
    if (!Array.isArray(label_B) && !(label_B instanceof Int32Array)) {
      throw new InvalidArgumentError('label_B', 'an int32 tensor [B] or an array of integers', describeValue(label_B));
    }
    if (label_B.length !== batch) throw new ShapeError('label_B', `${batch} labels (the batch)`, `${label_B.length}`);
    Array.from(label_B).forEach((v, i) => {
      if (!Number.isInteger(v) || v < 0 || v > nc) {
        throw new InvalidArgumentError(`label_B[${i}]`, `an integer in [0, ${nc}] (${nc} = unconditional)`, String(v));
      }
    });
    const labels = tf.tensor1d(Int32Array.from(label_B), 'int32');
    try {
      return fn(labels);
    } finally {
      labels.dispose();
    }
  }

  /** Blocks and head on embedded tokens `x_BLC`; `past` per block for cached steps. */
  private body(
    x_BLC: tf.Tensor,
    cond_BC: tf.Tensor,
    keyLimit_L: tf.Tensor1D | null,
    past: Array<KeysValues | null> | null,
  ): { logits_BLV: tf.Tensor3D; kv: KeysValues[] } {
    const c = this.config;
    const C = c.width;
    const p = this.params;
    const blockCond = c.sharedAdaLn
      ? tf.reshape(linear(silu(cond_BC), p.get('shared_ada_lin.1.weight'), p.get('shared_ada_lin.1.bias')), [-1, 1, 6, C])
      : cond_BC;
    const kv: KeysValues[] = [];
    let x = x_BLC;
    for (let i = 0; i < c.depth; i++) {
      const out = adaLnBlock(p, `blocks.${i}`, c, x, blockCond, keyLimit_L, past?.[i] ?? null);
      x = out.x_BLC;
      kv.push({ k_BHLc: out.k_BHLc, v_BHLc: out.v_BHLc });
    }
    // FoundationVision/VAR@78b9539:models/basic_var.py AdaLNBeforeHead: (scale, shift) from the raw class embedding,
    // even with shared AdaLN.
    const ss = tf.reshape(linear(silu(cond_BC), p.get('head_nm.ada_lin.1.weight'), p.get('head_nm.ada_lin.1.bias')), [-1, 1, 2, C]);
    const [scale, shift] = tf.unstack(ss, 2) as [tf.Tensor, tf.Tensor];
    const logits_BLV = linear(modulate(x, c.normEps, scale, shift), p.get('head.weight'), p.get('head.bias')) as tf.Tensor3D;
    return { logits_BLV, kv };
  }
}
