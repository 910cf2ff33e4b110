import { ValueRangeError } from '../errors.js';

// Widening conversions shared by the checkpoint readers: tfjs has float32, int32 and bool only.

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
