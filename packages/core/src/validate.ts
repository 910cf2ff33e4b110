import * as tf from '@tensorflow/tfjs-core';
import { DTypeError, InvalidArgumentError, ShapeError, ValueRangeError } from './errors.js';

export function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Checks that `value` is a tf.Tensor of one of the allowed ranks and dtypes. `shape` entries that are `null` match any
 * size. Throws a ShapeError/DTypeError naming `argument`.
 */
export function checkTensor(
  value: unknown,
  argument: string,
  spec: { rank?: number | readonly number[]; dtype?: tf.DataType | readonly tf.DataType[] } = {},
): asserts value is tf.Tensor {
  if (!(value instanceof tf.Tensor)) {
    throw new InvalidArgumentError(argument, 'a tf.Tensor', describeValue(value));
  }
  if (value.isDisposed) {
    throw new InvalidArgumentError(argument, 'a live tf.Tensor', 'a disposed tensor');
  }
  if (spec.rank !== undefined) {
    const ranks = typeof spec.rank === 'number' ? [spec.rank] : spec.rank;
    if (!ranks.includes(value.rank)) {
      throw new ShapeError(argument, `rank ${ranks.join(' or ')}`, `rank ${value.rank} ${describeShape(value.shape)}`);
    }
  }
  if (spec.dtype !== undefined) {
    const dtypes: readonly tf.DataType[] = typeof spec.dtype === 'string' ? [spec.dtype] : spec.dtype;
    if (!dtypes.includes(value.dtype)) {
      throw new DTypeError(argument, `dtype ${dtypes.join(' or ')}`, `dtype ${value.dtype}`);
    }
  }
}

/**
 * Throws a ValueRangeError when `x` holds NaN/±Infinity or values outside [min, max]. Reads three scalars back from
 * the backend (asynchronously: WebGPU has no synchronous read), so call it once per public entry, not inside loops.
 */
export async function checkValues(
  x: tf.Tensor,
  argument: string,
  range?: { min: number; max: number; label?: string },
): Promise<void> {
  const stats = tf.tidy(() => {
    x = tf.cast(x, 'float32');
    const finite = tf.logicalNot(tf.logicalOr(tf.isNaN(x), tf.isInf(x)));
    const safe = tf.where(finite, x, tf.zerosLike(x));
    const nonFinite = tf.sum(tf.cast(tf.logicalNot(finite), 'float32'));
    return tf.stack([tf.min(safe), tf.max(safe), nonFinite]);
  });
  const [lo, hi, bad] = Array.from(await stats.data()) as [number, number, number];
  stats.dispose();
  if (bad > 0) {
    throw new ValueRangeError(argument, 'finite values', `${bad} NaN or infinite value${bad === 1 ? '' : 's'}`);
  }
  if (range && (lo < range.min || hi > range.max)) {
    const expected = range.label ?? `values in [${range.min}, ${range.max}]`;
    throw new ValueRangeError(argument, expected, `values in [${lo}, ${hi}]`);
  }
}

/** Checks a plain number option: finite, inside [min, max], and an integer when asked. */
export function checkNumber(
  value: unknown,
  argument: string,
  spec: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): asserts value is number {
  const { min = -Infinity, max = Infinity, integer = false, exclusiveMin = false } = spec;
  const kind = integer ? 'an integer' : 'a number';
  const lowOk = exclusiveMin ? (value as number) > min : (value as number) >= min;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value)) ||
    !lowOk ||
    value > max
  ) {
    const bounds = `${exclusiveMin ? '(' : '['}${min}, ${max}]`;
    throw new InvalidArgumentError(argument, `${kind} in ${bounds}`, describeValue(value));
  }
}

export function describeValue(value: unknown): string {
  if (value instanceof tf.Tensor) return `tensor ${value.dtype} ${describeShape(value.shape)}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array of length ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return String(value);
}

/**
 * `{ ...defaults, ...options }` where an option given as `undefined` keeps its default, as callers expect when they
 * forward optional settings.
 */
export function withDefaults<T extends object>(defaults: Readonly<T>, options: Partial<T> | undefined): T {
  const merged = { ...defaults };
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}
