import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DTypeError, InvalidArgumentError, ShapeError } from '../src/errors.js';
import { RESAMPLE_MODES, resampleWeights, type ResampleMode } from '../src/resample/resampleWeights.js';
import { resize } from '../src/resample/resize.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';
import { readSafetensorsFile } from '../src/io/fileSource.js';
import type { SafetensorsFile } from '../src/io/safetensors.js';

type Shape4 = [number, number, number, number];

// Deterministic pseudo-random values in [-0.5, 0.5) (no RNG state shared with other tests).
function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const v = Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453;
    return v - Math.floor(v) - 0.5;
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Runs resize leak-free and reads the result back (WebGPU has no synchronous read). */
async function resized(
  data: Float32Array,
  shape: Shape4,
  size: [number, number],
  mode: ResampleMode,
  alignCorners?: boolean,
): Promise<Float32Array> {
  return expectNoLeaks(async () => {
    const out = tf.tidy(() => resize(tf.tensor4d(data, shape), size, mode, { alignCorners }));
    expect(out.shape).toEqual([shape[0], size[0], size[1], shape[3]]);
    const result = (await out.data()) as Float32Array;
    out.dispose();
    return result;
  });
}

/** Applies per-axis [out × in] matrices to an NHWC array in float64: out = Mh · x · Mwᵀ per image and channel. */
function applySeparable(
  x: ArrayLike<number>,
  [b, h, w, c]: Shape4,
  mh: ArrayLike<number>,
  oh: number,
  mw: ArrayLike<number>,
  ow: number,
) {
  const out = new Float64Array(b * oh * ow * c);
  for (let n = 0; n < b; n++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let k = 0; k < c; k++) {
          let acc = 0;
          for (let p = 0; p < h; p++) {
            const wh = mh[i * h + p]!;
            if (wh === 0) continue;
            for (let q = 0; q < w; q++) acc += wh * mw[j * w + q]! * x[((n * h + p) * w + q) * c + k]!;
          }
          out[((n * oh + i) * ow + j) * c + k] = acc;
        }
  return out;
}

/** NCHW → NHWC of a flat array. */
function toNHWC(t: { shape: number[]; data: Float32Array }): { data: Float32Array; shape: Shape4 } {
  const [b, c, h, w] = t.shape as Shape4;
  const data = new Float32Array(b * h * w * c);
  for (let n = 0; n < b; n++)
    for (let k = 0; k < c; k++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) data[((n * h + i) * w + j) * c + k] = t.data[((n * c + k) * h + i) * w + j]!;
  return { data, shape: [b, h, w, c] };
}

// ---------------------------------------------------------------------------------------------------------------
// Reference tensors from torch's F.interpolate: every file of kind "interp", every `{mode}_in_{n}_to_{o}` key.

const INPUT_KEY = /^(.+)_in_(\d+)_to_(\d+)$/;
const interpFixtures: Array<{ path: string; checkpoint: SafetensorsFile }> = [];
for (const path of listFixtures('reference', '.safetensors')) {
  const checkpoint = await readSafetensorsFile(path);
  if (checkpoint.metadata.kind === 'interp') interpFixtures.push({ path, checkpoint });
  else await checkpoint.close();
}
afterAll(async () => {
  for (const { checkpoint } of interpFixtures) await checkpoint.close();
});

async function floats(checkpoint: SafetensorsFile, key: string): Promise<{ shape: number[]; data: Float32Array }> {
  const raw = await checkpoint.rawTensor(key);
  if (!(raw.data instanceof Float32Array)) throw new Error(`${key}: expected a float tensor, got ${raw.dtype}`);
  return { shape: raw.shape, data: raw.data };
}

describe(`resize = torch F.interpolate on the reference fixtures [${backendName()}]`, () => {
  it('finds at least one fixture file of kind "interp"', () => {
    expect(interpFixtures.length).toBeGreaterThan(0);
  });

  for (const { path, checkpoint } of interpFixtures) {
    const file = basename(path);
    const keys = checkpoint.keys().filter((k) => INPUT_KEY.test(k));
    it(`${file} holds input/output pairs`, () => expect(keys.length).toBeGreaterThan(0));
    for (const key of keys) {
      const [, mode, n, o] = INPUT_KEY.exec(key)!;
      const outKey = `${mode}_out_${n}_to_${o}`;
      const [inSize, outSize] = [Number(n), Number(o)];
      it(`${file} ${key} → ${outKey}: max |resize − torch| ≤ 1e-6`, async () => {
        expect(RESAMPLE_MODES).toContain(mode);
        expect(checkpoint.keys(), `${file} has no ${outKey}`).toContain(outKey);
        const [input, expected] = [await floats(checkpoint, key), await floats(checkpoint, outKey)];
        expect(input.shape.slice(2)).toEqual([inSize, inSize]);
        expect(expected.shape).toEqual([input.shape[0], input.shape[1], outSize, outSize]);
        const x = toNHWC(input);
        const got = await resized(x.data, x.shape, [outSize, outSize], mode as ResampleMode);
        const err = maxAbsDiff(got, toNHWC(expected).data);
        expect(err, `max abs error ${err.toExponential(2)}`).toBeLessThanOrEqual(1e-6);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The two bilinear conventions of the FID tools, from their definitions (shared/fixtures/eval/README.md), in float64.

/** Source coordinate of output i of o over n samples. */
type Source = (i: number, n: number, o: number) => number;
const tf1Source: Source = (i, n, o) => (i * n) / o;
const halfPixelSource: Source = (i, n, o) => Math.max(((i + 0.5) * n) / o - 0.5, 0);

/** lo = floor(s), hi = min(lo + 1, n − 1); interpolate along x, then along y. */
function bilinearReference(x: Float32Array, [b, h, w, c]: Shape4, [oh, ow]: [number, number], source: Source) {
  const out = new Float64Array(b * oh * ow * c);
  const at = (n: number, i: number, j: number, k: number) => x[((n * h + i) * w + j) * c + k]!;
  for (let n = 0; n < b; n++)
    for (let i = 0; i < oh; i++) {
      const sy = source(i, h, oh);
      const [y0, ly] = [Math.floor(sy), sy - Math.floor(sy)];
      const y1 = Math.min(y0 + 1, h - 1);
      for (let j = 0; j < ow; j++) {
        const sx = source(j, w, ow);
        const [x0, lx] = [Math.floor(sx), sx - Math.floor(sx)];
        const x1 = Math.min(x0 + 1, w - 1);
        for (let k = 0; k < c; k++) {
          const top = at(n, y0, x0, k) + (at(n, y0, x1, k) - at(n, y0, x0, k)) * lx;
          const bottom = at(n, y1, x0, k) + (at(n, y1, x1, k) - at(n, y1, x0, k)) * lx;
          out[((n * oh + i) * ow + j) * c + k] = top + (bottom - top) * ly;
        }
      }
    }
  return out;
}

/** The closed-form test image of shared/fixtures/eval/README.md (1×32×32×3, uint8 values), scaled to [0, 1]. */
function evalImage(): { data: Float32Array; shape: Shape4 } {
  const data = new Float32Array(32 * 32 * 3);
  for (let h = 0; h < 32; h++)
    for (let w = 0; w < 32; w++)
      for (let c = 0; c < 3; c++)
        data[(h * 32 + w) * 3 + c] = Math.round(255 * (0.5 + 0.5 * Math.sin(0.3 * h + 0.7 * w + 2 * c))) / 255;
  return { data, shape: [1, 32, 32, 3] };
}

/** Pseudo-random values in [0, 1). */
function unitImage(shape: Shape4, seed: number): { data: Float32Array; shape: Shape4 } {
  return { data: values(shape.reduce((a, b) => a * b), seed).map((v) => v + 0.5), shape };
}

const bilinearCases: Array<{ name: string; x: () => { data: Float32Array; shape: Shape4 }; size: [number, number] }> = [
  { name: 'FID image 32×32 → 299×299', x: evalImage, size: [299, 299] },
  { name: 'random [1, 32, 32, 3] → 299×299', x: () => unitImage([1, 32, 32, 3], 9), size: [299, 299] },
  { name: '[2, 5, 7, 3] → 9×4', x: () => unitImage([2, 5, 7, 3], 1), size: [9, 4] },
  { name: '[1, 6, 6, 2] → 4×11', x: () => unitImage([1, 6, 6, 2], 2), size: [4, 11] },
  { name: '[1, 1, 3, 1] → 5×2', x: () => unitImage([1, 1, 3, 1], 3), size: [5, 2] },
];

describe(`bilinear resizes = their definitions in float64 [${backendName()}]`, () => {
  for (const { name, x: makeX, size } of bilinearCases) {
    for (const [mode, source] of [
      ['bilinear-tf1', tf1Source],
      ['bilinear', halfPixelSource],
    ] as const) {
      it(`${mode}: ${name} within 1e-6 (values in [0, 1])`, async () => {
        const x = makeX();
        const got = await resized(x.data, x.shape, size, mode);
        expect(maxAbsDiff(got, bilinearReference(x.data, x.shape, size, source))).toBeLessThanOrEqual(1e-6);
      });
    }
  }

  // tfjs's CPU kernel computes the source coordinate in float64 and agrees to float32 rounding. Its wasm and WebGPU
  // kernels compute it in float32, as TF1's own kernel does; 32/299 is not a float32, so on [0, 1] data they drift
  // from the float64 definition by up to ~2e-6 (measured 1.9e-6 and 2.3e-6 on random 32×32 → 299×299 images).
  const tfjsTolerance = backendName() === 'cpu' ? 1e-6 : 5e-6;
  for (const [mode, halfPixelCenters] of [
    ['bilinear-tf1', false],
    ['bilinear', true],
  ] as const) {
    const title = `${mode} = tf.image.resizeBilinear(alignCorners=false, halfPixelCenters=${halfPixelCenters})`;
    it(`${title} within ${tfjsTolerance}`, async () => {
      for (const { x: makeX, size } of bilinearCases) {
        const x = makeX();
        const ours = await resized(x.data, x.shape, size, mode);
        const t = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(x.data, x.shape), size, false, halfPixelCenters));
        const theirs = await t.data();
        t.dispose();
        expect(maxAbsDiff(ours, theirs)).toBeLessThanOrEqual(tfjsTolerance);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The per-axis matrices.

/** PyTorch's bicubic weights in exact arithmetic (A = −0.75), for comparison where n/o is a float32. */
function bicubicExact(n: number, o: number, alignCorners: boolean): Float64Array {
  const w = new Float64Array(o * n);
  const inner = (x: number) => (1.25 * x - 2.25) * x * x + 1;
  const outer = (x: number) => ((-0.75 * x + 3.75) * x - 6) * x + 3;
  for (let i = 0; i < o; i++) {
    const s = alignCorners ? (o > 1 ? (i * (n - 1)) / (o - 1) : 0) : ((i + 0.5) * n) / o - 0.5;
    const f = Math.floor(s);
    const t = s - f;
    [outer(t + 1), inner(t), inner(1 - t), outer(2 - t)].forEach((v, k) => {
      w[i * n + Math.min(Math.max(f - 1 + k, 0), n - 1)]! += v;
    });
  }
  return w;
}

describe(`resampleWeights [${backendName()}]`, () => {
  it('area averages the bins [floor(i·n/o), ceil((i+1)·n/o)), overlapping when upsampling', () => {
    expect(Array.from(resampleWeights('area', 2, 3))).toEqual([1, 0, 0.5, 0.5, 0, 1]);
    const third = Math.fround(1 / 3);
    expect(Array.from(resampleWeights('area', 5, 2))).toEqual([third, third, third, 0, 0, 0, 0, third, third, third]);
    expect(Array.from(resampleWeights('area', 3, 1))).toEqual([third, third, third]);
    const up = resampleWeights('area', 3, 7);
    const rows = Array.from({ length: 7 }, (_, i) => Array.from(up.subarray(i * 3, i * 3 + 3)));
    expect(rows).toEqual([[1, 0, 0], [1, 0, 0], [0.5, 0.5, 0], [0, 1, 0], [0, 0.5, 0.5], [0, 0, 1], [0, 0, 1]]);
  });

  it('every mode maps n → n to the identity, which resize relies on to skip an axis', () => {
    for (const mode of RESAMPLE_MODES) {
      const aligned = mode === 'bicubic' || mode === 'bilinear' ? [false, true] : [false];
      for (const alignCorners of aligned)
        for (const n of [1, 2, 7, 16]) {
          const w = resampleWeights(mode, n, n, { alignCorners });
          expect(Array.from(w)).toEqual(Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0)));
        }
    }
  });

  it('every row sums to 1 (bicubic: to float32 rounding)', () => {
    for (const mode of RESAMPLE_MODES)
      for (const [n, o] of [[5, 7], [7, 5], [16, 23], [32, 299], [1, 4], [4, 1]] as const) {
        const w = resampleWeights(mode, n, o);
        for (let i = 0; i < o; i++) {
          const sum = w.subarray(i * n, (i + 1) * n).reduce((a, b) => a + b, 0);
          expect(Math.abs(sum - 1)).toBeLessThan(mode === 'bicubic' ? 1e-6 : 1e-7);
        }
      }
  });

  // Where n/o is a float32 only the polynomials' float32 rounding (up to 6e-7 on the outer taps, as in torch) remains.
  it('bicubic: A = −0.75 on an unclamped half-pixel coordinate with clamped taps', () => {
    for (const [n, o] of [[4, 16], [10, 16], [3, 8], [16, 4], [5, 2], [2, 5], [13, 64]] as const)
      for (const alignCorners of [false, true]) {
        if (alignCorners && (n - 1) / (o - 1) !== Math.fround((n - 1) / (o - 1))) continue;
        const ours = resampleWeights('bicubic', n, o, { alignCorners });
        expect(maxAbsDiff(ours, bicubicExact(n, o, alignCorners))).toBeLessThan(7e-7);
      }
    // Upsampling 2 → 8: the first output's coordinate is −0.375, so taps −2 … 1 clamp to 0, 0, 0, 1.
    const w = resampleWeights('bicubic', 2, 8);
    expect(w[0]! + w[1]!).toBeCloseTo(1, 6);
    expect(w[0]).toBeCloseTo(bicubicExact(2, 8, false)[0]!, 6);
  });

  it('bicubic with alignCorners maps the corners onto the corners', () => {
    const w = resampleWeights('bicubic', 5, 9, { alignCorners: true });
    expect(Array.from(w.subarray(0, 5))).toEqual([1, 0, 0, 0, 0]);
    expect(Array.from(w.subarray(8 * 5, 9 * 5))).toEqual([0, 0, 0, 0, 1]);
  });

  it('bilinear-tf1 uses s = i·n/o and bilinear s = max((i + ½)·n/o − ½, 0)', () => {
    expect(Array.from(resampleWeights('bilinear-tf1', 2, 4))).toEqual([1, 0, 0.5, 0.5, 0, 1, 0, 1]);
    expect(Array.from(resampleWeights('bilinear', 2, 4))).toEqual([1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1]);
    expect(Array.from(resampleWeights('bilinear', 3, 2, { alignCorners: true }))).toEqual([1, 0, 0, 0, 0, 1]);
  });

  it('returns a copy: writing to it does not change later results', () => {
    const first = resampleWeights('bicubic', 5, 7);
    const expected = Array.from(first);
    first.fill(42);
    expect(Array.from(resampleWeights('bicubic', 5, 7))).toEqual(expected);
  });

  it('rejects unknown modes, bad sizes and alignCorners where it has no meaning', () => {
    const throwsFor = (argument: string, fn: () => unknown) => {
      const e = (() => {
        try {
          fn();
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).argument).toBe(argument);
    };
    throwsFor('mode', () => resampleWeights('nearest' as ResampleMode, 4, 2));
    throwsFor('inSize', () => resampleWeights('area', 0, 2));
    throwsFor('outSize', () => resampleWeights('area', 4, 2.5));
    throwsFor('options.alignCorners', () => resampleWeights('area', 4, 2, { alignCorners: true }));
    throwsFor('options.alignCorners', () => resampleWeights('bilinear-tf1', 4, 2, { alignCorners: true }));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// resize as a tensor op: layouts, gradients, errors, leaks.

describe(`resize [${backendName()}]`, () => {
  it('applies Mh · x · Mwᵀ per image and channel (every mode, both directions)', async () => {
    const shape: Shape4 = [2, 5, 7, 3];
    const x = values(2 * 5 * 7 * 3, 4);
    for (const mode of RESAMPLE_MODES)
      for (const size of [[9, 4], [3, 12], [1, 1]] as Array<[number, number]>) {
        const got = await resized(x, shape, size, mode);
        const [mh, mw] = [resampleWeights(mode, 5, size[0]), resampleWeights(mode, 7, size[1])];
        const want = applySeparable(x, shape, mh, size[0], mw, size[1]);
        expect(maxAbsDiff(got, want), `${mode} → ${size}`).toBeLessThan(1e-6);
      }
  });

  it('accepts [H, W, C] and gives the batched result without the batch axis', async () => {
    const x = values(6 * 4 * 2, 5);
    const batched = await resized(x, [1, 6, 4, 2], [3, 9], 'bicubic');
    const single = await expectNoLeaks(async () => {
      const out = tf.tidy(() => resize(tf.tensor3d(x, [6, 4, 2]), [3, 9], 'bicubic'));
      expect(out.shape).toEqual([3, 9, 2]);
      const d = await out.data();
      out.dispose();
      return d;
    });
    expect(Array.from(single)).toEqual(Array.from(batched));
  });

  it('returns the input values when the size does not change', async () => {
    const x = values(3 * 4 * 2, 6);
    for (const mode of RESAMPLE_MODES) {
      expect(Array.from(await resized(x, [1, 3, 4, 2], [3, 4], mode))).toEqual(Array.from(x));
    }
  });

  it('its gradient is the transposed matrices applied to the upstream gradient: dx = Mhᵀ · dy · Mw', async () => {
    const shape: Shape4 = [2, 5, 6, 3];
    for (const mode of RESAMPLE_MODES)
      for (const size of [[8, 3], [2, 11]] as Array<[number, number]>) {
        const dyShape: Shape4 = [2, size[0], size[1], 3];
        const dyData = values(dyShape.reduce((a, b) => a * b), 7);
        const got = await expectNoLeaks(async () => {
          const x = tf.tensor4d(values(2 * 5 * 6 * 3, 8), shape);
          const dy = tf.tensor4d(dyData, dyShape);
          const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(resize(t as tf.Tensor4D, size, mode), dy)))(x);
          expect(g.shape).toEqual(shape);
          const d = await g.data();
          tf.dispose([x, dy, g]);
          return d;
        });
        const transpose = (m: Float32Array, rows: number, cols: number) =>
          Float64Array.from({ length: rows * cols }, (_, k) => m[(k % rows) * cols + Math.floor(k / rows)]!);
        const mhT = transpose(resampleWeights(mode, 5, size[0]), size[0], 5);
        const mwT = transpose(resampleWeights(mode, 6, size[1]), size[1], 6);
        const want = applySeparable(dyData, dyShape, mhT, 5, mwT, 6);
        expect(maxAbsDiff(got, want), `${mode} → ${size}`).toBeLessThan(1e-6);
      }
  });

  it('rejects bad arguments with typed errors naming them, before allocating anything', async () => {
    const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    const cases: Array<[string, new (...args: never[]) => InvalidArgumentError, () => unknown]> = [
      ['x', InvalidArgumentError, () => resize([1, 2] as unknown as tf.Tensor4D, [2, 2], 'area')],
      ['x', ShapeError, () => resize(tf.zeros([4, 4]) as unknown as tf.Tensor4D, [2, 2], 'area')],
      ['x', DTypeError, () => resize(tf.zeros([1, 4, 4, 1], 'int32') as tf.Tensor4D, [2, 2], 'area')],
      ['x', ShapeError, () => resize(tf.zeros([1, 0, 4, 1]) as tf.Tensor4D, [2, 2], 'area')],
      ['size', InvalidArgumentError, () => resize(x, [2] as unknown as [number, number], 'area')],
      ['size', InvalidArgumentError, () => resize(x, 2 as unknown as [number, number], 'area')],
      ['size[0]', InvalidArgumentError, () => resize(x, [0, 2], 'area')],
      ['size[1]', InvalidArgumentError, () => resize(x, [2, -3], 'area')],
      ['size[1]', InvalidArgumentError, () => resize(x, [2, 2.5], 'area')],
      ['size[0]', InvalidArgumentError, () => resize(x, [NaN, 2], 'area')],
      ['mode', InvalidArgumentError, () => resize(x, [2, 2], 'nearest' as ResampleMode)],
      ['options', InvalidArgumentError, () => resize(x, [2, 2], 'bicubic', 'yes' as never)],
      ['options.alignCorners', InvalidArgumentError, () => resize(x, [2, 2], 'bicubic', { alignCorners: 1 as never })],
      ['options.alignCorners', InvalidArgumentError, () => resize(x, [2, 2], 'area', { alignCorners: true })],
    ];
    for (const [argument, type, call] of cases) {
      let caught: unknown;
      // The bad tensors above are made inside the tidy; what resize allocates would show as a leak after it.
      await expectNoLeaks(() =>
        tf.tidy(() => {
          try {
            call();
          } catch (e) {
            caught = e;
          }
        }),
      );
      expect(caught, argument).toBeInstanceOf(type);
      const e = caught as InvalidArgumentError;
      expect(e.argument).toBe(argument);
      expect(e.message).toBe(`${argument}: expected ${e.expected}, got ${e.actual}`);
    }
    x.dispose();
  });
});
