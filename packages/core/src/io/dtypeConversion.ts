import { ValueRangeError } from '../errors.js';

// Conversions shared by the checkpoint readers (widening: tfjs has float32, int32 and bool only) and writers.

/** IEEE binary16 → binary32 on the bit patterns: exact for every value; NaN payloads are kept, as torch keeps them. */
export function float16ToFloat32(halves: Uint16Array): Float32Array {
  const out = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) {
    const h = halves[i]!;
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    let fraction = h & 0x3ff;
    if (exponent === 0x1f) {
      out[i] = sign | 0x7f800000 | (fraction << 13);
    } else if (exponent !== 0) {
      out[i] = sign | ((exponent + 112) << 23) | (fraction << 13);
    } else if (fraction === 0) {
      out[i] = sign;
    } else {
      // Subnormal half: shift the fraction up to an implicit leading one, lowering the exponent as it goes.
      let e = 113;
      while ((fraction & 0x400) === 0) {
        fraction <<= 1;
        e--;
      }
      out[i] = sign | (e << 23) | ((fraction & 0x3ff) << 13);
    }
  }
  return new Float32Array(out.buffer);
}

/**
 * IEEE binary32 → binary16 bit patterns, rounded to nearest with ties to even (as torch's `.half()`). NaN stays NaN
 * and ±Infinity stays infinite; a finite value that rounds beyond the largest half, ±65504, is a ValueRangeError
 * naming `label` rather than a silent Infinity.
 */
export function float32ToFloat16(values: Float32Array, label: string): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i]!;
    const sign = (b >>> 16) & 0x8000;
    const exponent = (b >>> 23) & 0xff;
    const fraction = b & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (fraction === 0 ? 0 : 0x200 | (fraction >>> 13));
      continue;
    }
    const halfExponent = exponent - 112;
    let half: number;
    if (halfExponent > 0) {
      half = (halfExponent << 10) | (fraction >>> 13);
      const rest = fraction & 0x1fff;
      // A carry out of the fraction raises the exponent, which is the correctly rounded value.
      if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
    } else {
      // A half subnormal counts units of 2^-24: the 24-bit significand shifted right, rounded on the bits shifted out.
      const shift = 14 - halfExponent;
      if (exponent === 0 || shift > 24) {
        half = 0;
      } else {
        const significand = fraction | 0x800000;
        half = significand >>> shift;
        const rest = significand & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
      }
    }
    if (half >= 0x7c00) {
      throw new ValueRangeError(label, 'finite values within ±65504 (the float16 range)', `${values[i]} at index ${i}`);
    }
    out[i] = sign | half;
  }
  return out;
}

/** bfloat16 is the top half of a float32. */
export function bfloat16ToFloat32(halves: Uint16Array): Float32Array {
  const out = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = halves[i]! << 16;
  return new Float32Array(out.buffer);
}

/** `dtypeName` is the file format's name for int64 ("I64" in safetensors, "int64" in torch), for the error. */
export function int64ToInt32(values: BigInt64Array, label: string, dtypeName = 'int64'): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < -2147483648n || v > 2147483647n) {
      throw new ValueRangeError(
        label,
        `${dtypeName} values within int32 range [-2147483648, 2147483647] (tf.js has no int64; rawTensor reads them exactly)`,
        `${v} at flat index ${i}`,
      );
    }
    out[i] = Number(v);
  }
  return out;
}
