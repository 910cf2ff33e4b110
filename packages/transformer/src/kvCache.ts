import * as tf from '@tensorflow/tfjs-core';
import type { ScaleLayout } from './scales.js';
import type { KeysValues } from './selfAttention.js';

// FoundationVision/VAR@78b9539:models/basic_var.py SelfAttention.kv_caching: each block keeps the keys and values of
// every token generated so far; scale si's queries attend to the cache plus themselves, so no mask is needed.
/**
 * The state of one cached generation: the schedule, the batch's class embeddings, each block's keys/values, and the
 * next scale to run. Made by a generator's `createCache`; advanced by its `step`; owns its tensors until `dispose`.
 */
export class KVCache {
  /** The scale the next `step` runs. */
  stepIndex = 0;
  private blocks: Array<KeysValues | null>;
  private disposed = false;

  constructor(
    readonly layout: ScaleLayout,
    /** The class embeddings of the batch rows [B, C] (owned). */
    readonly cond_BC: tf.Tensor2D,
    depth: number,
  ) {
    this.blocks = Array.from({ length: depth }, () => null);
  }

  get batch(): number {
    return this.cond_BC.shape[0];
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** True once every scale of the schedule has run. */
  get done(): boolean {
    return this.stepIndex >= this.layout.sizes.length;
  }

  /** Tokens cached so far per row. */
  get length(): number {
    return this.stepIndex === 0 ? 0 : this.layout.begin[this.stepIndex - 1]! + this.tokensOf(this.stepIndex - 1);
  }

  /** Bytes held by the cached keys and values (float32). */
  get byteLength(): number {
    let n = 0;
    for (const kv of this.blocks) if (kv) n += 4 * (kv.k_BHLc.size + kv.v_BHLc.size);
    return n;
  }

  /** Block `i`'s cached keys/values, or null before the first step. */
  block(i: number): KeysValues | null {
    return this.blocks[i] ?? null;
  }

  /** Replaces every block's keys/values (taking ownership) and moves to the next scale. */
  advance(next: KeysValues[]): void {
    for (const kv of this.blocks) if (kv) tf.dispose([kv.k_BHLc, kv.v_BHLc]);
    this.blocks = next;
    this.stepIndex++;
  }

  dispose(): void {
    if (this.disposed) return;
    for (const kv of this.blocks) if (kv) tf.dispose([kv.k_BHLc, kv.v_BHLc]);
    this.blocks = this.blocks.map(() => null);
    this.cond_BC.dispose();
    this.disposed = true;
  }

  private tokensOf(si: number): number {
    const [h, w] = this.layout.sizes[si]!;
    return h * w;
  }
}
