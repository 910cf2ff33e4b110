import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DTypeError, InvalidArgumentError, ShapeError } from '@nextdetail/core';
import { GroundTruthMultiScaleQuantizer } from '../src/quantizer/groundTruthMultiScale.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { type Map64, memorySource, normals, type RawTensor, resize64 } from './helpers.js';

async function load(codebook: RawTensor, prefix?: string) {
  return GroundTruthMultiScaleQuantizer.fromStateDict(
    memorySource({ [`${prefix ?? ''}quantize.embedding.weight`]: codebook }),
    prefix === undefined ? undefined : { prefix },
  );
}

// ---- A float64 reference written from the digest (§2.2, §2.4), NHWC, one flat array per map. ----

/** Rows of length c divided by max(‖row‖, 1e-12). */
function normalize64(data: ArrayLike<number>, c: number): Float64Array {
  const out = Float64Array.from(data);
  for (let r = 0; r < out.length / c; r++) {
    let ss = 0;
    for (let k = 0; k < c; k++) ss += out[r * c + k]! ** 2;
    const n = Math.max(Math.sqrt(ss), 1e-12);
    for (let k = 0; k < c; k++) out[r * c + k]! /= n;
  }
  return out;
}

/** Squared distances of every normalised latent of area(h, [ph, pw]) to every normalised code: [N][V]. */
function distances64(h: Map64, [ph, pw]: readonly [number, number], codebook64: Float64Array): number[][] {
  const z = normalize64(resize64(h, ph, pw, 'area').data, h.c);
  const v = codebook64.length / h.c;
  return Array.from({ length: z.length / h.c }, (_, n) =>
    Array.from({ length: v }, (_, k) => {
      let d = 0;
      for (let c = 0; c < h.c; c++) d += (z[n * h.c + c]! - codebook64[k * h.c + c]!) ** 2;
      return d;
    }),
  );
}

/** teacherForcingInput in float64: bicubic(normalised E[ids of n], size n + 1), row-major, concatenated per batch. */
function inputs64(
  ids: Int32Array[],
  sizes: readonly (readonly [number, number])[],
  b: number,
  codebook64: Float64Array,
  c: number,
): Float64Array {
  const perBatch: number[][] = Array.from({ length: b }, () => []);
  for (let n = 0; n + 1 < sizes.length; n++) {
    const [ph, pw] = sizes[n]!;
    const map: Map64 = { b, h: ph, w: pw, c, data: new Float64Array(b * ph * pw * c) };
    ids[n]!.forEach((id, k) => map.data.set(codebook64.subarray(id * c, id * c + c), k * c));
    const up = resize64(map, sizes[n + 1]![0], sizes[n + 1]![1], 'bicubic');
    const per = up.data.length / b;
    for (let bb = 0; bb < b; bb++) perBatch[bb]!.push(...up.data.subarray(bb * per, bb * per + per));
  }
  return Float64Array.from(perBatch.flat());
}

const V = 24;
const C = 6;
const codebookData = normals(V * C, 11).map((x, i) => (i < C ? 0 : x)); // row 0 is all zeros: norm clamped to 1e-12
const codebook = { shape: [V, C], data: codebookData };
const codebook64 = normalize64(codebookData, C);

describe(`GroundTruthMultiScaleQuantizer [${backendName()}]`, () => {
  it('fromStateDict keeps the row-wise normalised codebook (zero rows stay zero), also under a prefix, leak-free', async () => {
    await expectNoLeaks(async () => {
      for (const prefix of [undefined, 'vq.']) {
        const q = await load(codebook, prefix);
        expect([q.vocabSize, q.cvae]).toEqual([V, C]);
        const got = await q.codebook_VC.data();
        for (let k = 0; k < V * C; k++) expect(Math.abs(got[k]! - codebook64[k]!)).toBeLessThan(1e-6);
        q.dispose();
      }
    });
  });

  it('encode picks the nearest normalised code per scale for non-square, non-nested schedules of any aspect ratio, leak-free', async () => {
    const [b, H, W] = [2, 5, 7];
    const hData = normals(b * H * W * C, 5);
    const h64: Map64 = { b, h: H, w: W, c: C, data: Float64Array.from(hData) };
    const schedule = [1, [1, 3], [2, 2], [3, 5], [4, 9], [5, 7], 6] as const;
    const q = await load(codebook);
    const ids = await expectNoLeaks(async () => {
      const h = tf.tensor4d(hData, [b, H, W, C]);
      const idx_Bl = q.encode(h, schedule);
      const out = await Promise.all(idx_Bl.map(async (t) => ({ shape: t.shape, dtype: t.dtype, data: Int32Array.from(await t.data()) })));
      tf.dispose([h, idx_Bl]);
      return out;
    });
    schedule.forEach((pn, si) => {
      const [ph, pw] = typeof pn === 'number' ? [pn, pn] : pn;
      expect(ids[si]!.shape).toEqual([b, ph * pw]);
      expect(ids[si]!.dtype).toBe('int32');
      const d = distances64(h64, [ph, pw], codebook64);
      // Float32 may pick either side of a float64 near-tie; the chosen code must be within rounding of the best.
      d.forEach((row, n) => expect(row[ids[si]!.data[n]!]! - Math.min(...row)).toBeLessThan(1e-5));
    });
    q.dispose();
  });

  it('encode breaks ties by the first index: duplicate rows and rows equal after normalisation', async () => {
    const rows = [
      [1, 0],
      [0, 3],
      [0, 1], // the same direction as row 1
      [1, 0], // a duplicate of row 0
      [-1, 0],
    ];
    const q = await load({ shape: [rows.length, 2], data: rows.flat() });
    // Last two latents: (0, −1) is equally far from rows 0, 3 and 4; (1, 1)/√2 from rows 0 to 3.
    const h = tf.tensor4d([0, 2, 5, 0, -0.5, 0, -4, 0, 0, -0.5, 3, 3], [1, 2, 3, 2]);
    const [idx] = q.encode(h, [[2, 3]]);
    expect(Array.from(await idx!.data())).toEqual([1, 0, 4, 4, 0, 0]);
    tf.dispose([h, idx]);
    q.dispose();
  });

  it('teacherForcingInput bicubic-resizes each scale to the next and concatenates row-major; nextInput steps and reconstruct agree, leak-free', async () => {
    const b = 2;
    const sizes = [[1, 2], [2, 3], [4, 3], [3, 6]] as const;
    const ids = sizes.map(([ph, pw], si) => Int32Array.from({ length: b * ph * pw }, (_, k) => (k * 7 + si * 5) % V));
    const expected = inputs64(ids, sizes, b, codebook64, C);
    const L = sizes.slice(1).reduce((s, [ph, pw]) => s + ph * pw, 0);
    const q = await load(codebook);
    await expectNoLeaks(async () => {
      const idx_Bl = sizes.map(([ph, pw], si) => tf.tensor2d(ids[si]!, [b, ph * pw], 'int32'));
      const x = q.teacherForcingInput(idx_Bl, sizes);
      expect(x.shape).toEqual([b, L, C]);
      const got = await x.data();
      for (let k = 0; k < expected.length; k++) expect(Math.abs(got[k]! - expected[k]!)).toBeLessThan(1e-5);

      const steps = sizes.slice(1).map((next, n) => q.nextInput(idx_Bl[n]!, sizes[n]!, next));
      const x2 = tf.concat(steps, 1);
      expect(Array.from(await x2.data())).toEqual(Array.from(got));

      const last = sizes.length - 1;
      const map = q.reconstruct(idx_Bl[last]!, sizes[last]!);
      expect(map.shape).toEqual([b, sizes[last]![0], sizes[last]![1], C]);
      const rows = await map.data();
      ids[last]!.forEach((id, k) => {
        for (let c = 0; c < C; c++) expect(Math.abs(rows[k * C + c]! - codebook64[id * C + c]!)).toBeLessThan(1e-6);
      });
      tf.dispose([idx_Bl, x, steps, x2, map]);
    });
    q.dispose();
  });

  it('rejects bad checkpoints, shapes, dtypes, schedules and id lists with typed errors naming the argument', async () => {
    await expect(GroundTruthMultiScaleQuantizer.fromStateDict(memorySource({}))).rejects.toThrow(InvalidArgumentError);
    await expect(load({ shape: [V * C], data: codebookData })).rejects.toThrow(ShapeError);
    const q = await load(codebook);
    await expectNoLeaks(() => {
      const h = tf.zeros([1, 4, 4, C]) as tf.Tensor4D;
      const wrongC = tf.zeros([1, 4, 4, C + 1]) as tf.Tensor4D;
      const rank3 = tf.zeros([4, 4, C]);
      const ids = tf.zeros([1, 4], 'int32') as tf.Tensor2D;
      const floatIds = tf.zeros([1, 4]) as tf.Tensor2D;
      const expectError = (fn: () => unknown, type: new (...a: never[]) => Error, argument: string, actual?: string) => {
        let error: unknown;
        try {
          fn();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(type);
        expect((error as { argument?: string }).argument).toBe(argument);
        if (actual) expect((error as Error).message).toContain(actual);
      };
      expectError(() => q.encode(wrongC, [1, 2]), ShapeError, 'h_BHWC', `[1, 4, 4, ${C + 1}]`);
      expectError(() => q.encode(rank3 as tf.Tensor4D, [1, 2]), ShapeError, 'h_BHWC');
      expectError(() => q.encode(h, []), InvalidArgumentError, 'scales');
      expectError(() => q.encode(h, [1, 0]), InvalidArgumentError, 'scales[1]');
      expectError(() => q.encode(h, [[2, 2.5]]), InvalidArgumentError, 'scales[0]');
      expectError(() => q.embed(ids, 3), ShapeError, 'idx_Bl', '[1, 4]');
      expectError(() => q.embed(floatIds, 2), DTypeError, 'idx_Bl');
      expectError(() => q.reconstruct(ids, [1, 3]), ShapeError, 'idx_Bl');
      expectError(() => q.nextInput(ids, 2, 0), InvalidArgumentError, 'nextScale');
      expectError(() => q.nextInput(ids, 3, 4), ShapeError, 'idx_Bl');
      expectError(() => q.teacherForcingInput([ids], [2]), InvalidArgumentError, 'scales');
      expectError(() => q.teacherForcingInput([ids], [2, 3]), InvalidArgumentError, 'idx_Bl');
      expectError(() => q.teacherForcingInput([ids, ids], [2, 3]), ShapeError, 'idx_Bl[1]', '[1, 4]');
      const otherBatch = tf.zeros([2, 9], 'int32') as tf.Tensor2D;
      expectError(() => q.teacherForcingInput([ids, otherBatch], [2, 3]), ShapeError, 'idx_Bl[1]', '[2, 9]');
      tf.dispose([h, wrongC, rank3, ids, floatIds, otherBatch]);
    });
    q.dispose();
  });
});
