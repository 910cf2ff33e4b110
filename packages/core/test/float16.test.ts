import { describe, expect, it } from 'vitest';
import { float16ToFloat32, float32ToFloat16, ValueRangeError } from '@nextdetail/core';

const ALL_HALVES = Uint16Array.from({ length: 65536 }, (_, i) => i);
const isNaNHalf = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

/** The float32 next to `x` (as a float32) in the direction of `step` (±1), by its bit pattern; x > 0. */
function adjacentFloat32(x: number, step: 1 | -1): number {
  const f = new Float32Array([x]);
  new Uint32Array(f.buffer)[0]! += step;
  return f[0]!;
}

describe('float32ToFloat16', () => {
  it('gives back every half that float16ToFloat32 widened, ±0, subnormals and ±Infinity included', () => {
    const halves = ALL_HALVES.filter((h) => !isNaNHalf(h));
    expect(Array.from(float32ToFloat16(float16ToFloat32(halves), 'x'))).toEqual(Array.from(halves));
  });

  it('rounds to the nearer half, and a value halfway between two halves to the even one, at every pair of neighbours', () => {
    const finite = ALL_HALVES.filter((h) => (h & 0x7fff) < 0x7bff);
    const lower = float16ToFloat32(finite);
    const upper = float16ToFloat32(finite.map((h) => h + 1));
    for (const [name, pick, want] of [
      ['midpoints', (a: number, b: number) => (a + b) / 2, (h: number) => (h & 1 ? h + 1 : h)],
      ['just above the midpoints', (a: number, b: number) => adjacentFloat32(Math.abs((a + b) / 2), 1) * Math.sign(a + b || 1), (h: number) => h + 1],
      ['just below the midpoints', (a: number, b: number) => adjacentFloat32(Math.abs((a + b) / 2), -1) * Math.sign(a + b || 1), (h: number) => h],
    ] as const) {
      const values = Float32Array.from(lower, (a, i) => pick(a, upper[i]!));
      const got = float32ToFloat16(values, 'x');
      const wrong = Array.from(finite).findIndex((h, i) => got[i] !== want(h));
      expect(wrong, `${name}: first wrong at half 0x${finite[wrong]?.toString(16)}`).toBe(-1);
    }
  });

  it('keeps the sign of zero, flushes what is below half the smallest subnormal to zero, and keeps NaN and ±Infinity', () => {
    const smallest = 2 ** -24;
    const got = float32ToFloat16(Float32Array.from([0, -0, smallest / 2, adjacentFloat32(smallest / 2, 1), -1e-30, Infinity, -Infinity, NaN]), 'x');
    expect(Array.from(got.slice(0, 7))).toEqual([0, 0x8000, 0, 1, 0x8000, 0x7c00, 0xfc00]);
    expect(Number.isNaN(float16ToFloat32(got.slice(7))[0])).toBe(true);
  });

  it('rounds up to the largest half, 65504, and rejects finite values beyond it with a ValueRangeError naming the tensor', () => {
    expect(Array.from(float32ToFloat16(Float32Array.from([65504, adjacentFloat32(65520, -1), -65504]), 'x'))).toEqual([0x7bff, 0x7bff, 0xfbff]);
    for (const value of [65520, -70000, 3e38]) {
      const run = () => float32ToFloat16(Float32Array.from([1, value]), 'tensor "w"');
      expect(run).toThrow(ValueRangeError);
      expect(run).toThrow(/tensor "w".*65504.*at index 1/);
    }
  });

  it('reads a Float32Array that is a view into a larger buffer from its own offset', () => {
    const buffer = new Float32Array([7, 1.5, -2, 7]);
    expect(Array.from(float32ToFloat16(buffer.subarray(1, 3), 'x'))).toEqual([0x3e00, 0xc000]);
  });
});
