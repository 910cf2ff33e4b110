import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { checkTensor, describeShape, describeValue } from '../validate.js';
import { philox4x32 } from './philox.js';

const TWO_POW_32 = 4294967296;

/** Everything needed to resume a generator exactly where it was (plain data: JSON-serialisable). */
export interface GeneratorState {
  key: [number, number];
  /** Blocks of four 32-bit words used so far. */
  counter: number;
}

function checkShape(shape: readonly number[], argument: string): number {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new ShapeError(argument, 'an array of non-negative integers', describeValue(shape));
  }
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The one seeded source of randomness for every sampler and initialiser. Draws are made on the host from a
 * Philox4x32-10 stream and uploaded, so the same seed gives bit-identical draws on every backend; each call consumes
 * the next blocks of the stream, so the same seed and the same sequence of calls give the same results.
 */
export class RandomGenerator {
  private readonly key: [number, number];
  private counter: number;

  /** `seed`: an integer in [0, 2^53), or a saved `GeneratorState`. */
  constructor(seed: number | GeneratorState) {
    if (typeof seed === 'number') {
      if (!Number.isSafeInteger(seed) || seed < 0) {
        throw new InvalidArgumentError('seed', 'an integer in [0, 2^53)', describeValue(seed));
      }
      this.key = [seed % TWO_POW_32 >>> 0, Math.floor(seed / TWO_POW_32) >>> 0];
      this.counter = 0;
    } else {
      const { key, counter } = seed ?? ({} as GeneratorState);
      const word = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) < TWO_POW_32;
      if (!Array.isArray(key) || key.length !== 2 || !key.every(word) || !Number.isSafeInteger(counter) || counter < 0) {
        throw new InvalidArgumentError('seed', 'an integer seed or a GeneratorState {key: [u32, u32], counter}', describeValue(seed));
      }
      this.key = [key[0], key[1]];
      this.counter = counter;
    }
  }

  state(): GeneratorState {
    return { key: [this.key[0], this.key[1]], counter: this.counter };
  }

  /**
   * An independent generator for a named sub-task (e.g. one per image or per step), derived from this one's key
   * without consuming its stream.
   */
  fork(stream: number): RandomGenerator {
    if (!Number.isSafeInteger(stream) || stream < 0) {
      throw new InvalidArgumentError('stream', 'an integer in [0, 2^53)', describeValue(stream));
    }
    const out = new Uint32Array(4);
    // Hash (key, stream) into a new key with a Philox block under a fixed key: distinct streams get unrelated keys.
    philox4x32(this.key[0], this.key[1], stream % TWO_POW_32 >>> 0, Math.floor(stream / TWO_POW_32) >>> 0, 0x6a09e667, 0xbb67ae85, out);
    return new RandomGenerator({ key: [out[0]!, out[1]!], counter: 0 });
  }

  /** The next n uint32 words of the stream. */
  words(n: number): Uint32Array {
    const blocks = Math.ceil(n / 4);
    const out = new Uint32Array(blocks * 4);
    for (let b = 0; b < blocks; b++) {
      const c = this.counter + b;
      philox4x32(c % TWO_POW_32 >>> 0, Math.floor(c / TWO_POW_32) >>> 0, 0, 0, this.key[0], this.key[1], out, 4 * b);
    }
    this.counter += blocks;
    return out.subarray(0, n);
  }

  /** Uniform floats in [0, 1) with 24 random bits each: every value is exact in float32. */
  uniformArray(n: number): Float32Array {
    const w = this.words(n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (w[i]! >>> 8) / 16777216;
    return out;
  }

  /** Uniform in [low, high) as a float32 tensor of `shape`. */
  uniform(shape: readonly number[], low = 0, high = 1): tf.Tensor {
    const n = checkShape(shape, 'shape');
    if (!Number.isFinite(low) || !Number.isFinite(high) || !(low < high)) {
      throw new InvalidArgumentError('low, high', 'finite numbers with low < high', `${low}, ${high}`);
    }
    const u = this.uniformArray(n);
    if (low !== 0 || high !== 1) for (let i = 0; i < n; i++) u[i] = low + (high - low) * u[i]!;
    return tf.tensor(u, [...shape], 'float32');
  }

  /** Standard normal draws N(mean, std²) by the Box–Muller transform, computed in float64. */
  normal(shape: readonly number[], mean = 0, std = 1): tf.Tensor {
    const n = checkShape(shape, 'shape');
    if (!Number.isFinite(mean) || !Number.isFinite(std) || std < 0) {
      throw new InvalidArgumentError('mean, std', 'finite numbers with std ≥ 0', `${mean}, ${std}`);
    }
    const pairs = Math.ceil(n / 2);
    const w = this.words(2 * pairs);
    const out = new Float32Array(n);
    for (let p = 0; p < pairs; p++) {
      // u1 ∈ (0, 1] keeps the logarithm finite.
      const u1 = (w[2 * p]! + 1) / TWO_POW_32;
      const u2 = w[2 * p + 1]! / TWO_POW_32;
      const r = Math.sqrt(-2 * Math.log(u1));
      out[2 * p] = mean + std * r * Math.cos(2 * Math.PI * u2);
      if (2 * p + 1 < n) out[2 * p + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
    }
    return tf.tensor(out, [...shape], 'float32');
  }

  /** Standard Gumbel draws −log(−log u), u in the open interval (0, 1). */
  gumbel(shape: readonly number[]): tf.Tensor {
    const n = checkShape(shape, 'shape');
    const w = this.words(n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = -Math.log(-Math.log((w[i]! + 0.5) / TWO_POW_32));
    return tf.tensor(out, [...shape], 'float32');
  }

  /**
   * One draw per row from softmax(logits_BV / temperature) by the Gumbel-max trick: argmax(logits/τ + G). Entries
   * at −∞ (masked by top-k/top-p) are never drawn while a row has a finite entry. Returns int32 [B].
   */
  categorical(logits_BV: tf.Tensor, temperature = 1): tf.Tensor1D {
    checkTensor(logits_BV, 'logits_BV', { rank: 2, dtype: 'float32' });
    if (!Number.isFinite(temperature) || temperature <= 0) {
      throw new InvalidArgumentError('temperature', 'a finite number > 0', describeValue(temperature));
    }
    if (logits_BV.shape[1] === 0) throw new ShapeError('logits_BV', '[B, V] with V ≥ 1', describeShape(logits_BV.shape));
    const noise = this.gumbel(logits_BV.shape);
    try {
      return tf.tidy(() => tf.argMax(tf.add(tf.div(logits_BV, temperature), noise), 1) as tf.Tensor1D);
    } finally {
      noise.dispose();
    }
  }
}
