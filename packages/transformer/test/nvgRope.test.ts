import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '@nextdetail/core';
import { contentRopeIds, ropeAxesDims, rotaryTable, structureRopeIds } from '../src/nvg/structureAwareRope.js';
import { timestepEmbedding } from '../src/nvg/timestepEmbedding.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

// Hand-computed values of NVG's structure-aware RoPE (digest §3.3) on a 2×2 latent with two structure bits.

/** A `rope_ids` buffer for a side×side grid and W bits: class token all ones, then (0, 0…0, row, column). */
function baseIds(side: number, width: number): Float32Array {
  const axes = width + 3;
  const ids = new Float32Array((side * side + 1) * axes).fill(0);
  ids.fill(1, 0, axes);
  for (let p = 0; p < side * side; p++) {
    ids[(1 + p) * axes + width + 1] = Math.floor(p / side);
    ids[(1 + p) * axes + width + 2] = p % side;
  }
  return ids;
}

describe(`structure-aware RoPE [${backendName()}]`, () => {
  it('splits a 64-wide head of nine stages into [8, 2×8, 20, 20] and refuses widths that do not add up', () => {
    expect(ropeAxesDims(64, 8)).toEqual([8, 2, 2, 2, 2, 2, 2, 2, 2, 20, 20]);
    expect(ropeAxesDims(32, 2)).toEqual([8, 2, 2, 10, 10]);
    expect(() => ropeAxesDims(64, 9)).toThrow(ShapeError);
  });

  it('content ids: class token keeps the buffer, image tokens get identity 0, their structure code, row and column', () => {
    // Stage 1 of a 4-position latent: position p has label p mod 2 → code (2·bit, 1).
    const bits = Int32Array.from([0, 1, 2, 1, 0, 1, 2, 1]);
    const ids = contentRopeIds(baseIds(2, 2), bits, 1, 5);
    expect(Array.from(ids)).toEqual([1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 2, 1, 0, 1, 0, 0, 1, 1, 0, 0, 2, 1, 1, 1]);
  });

  it('structure ids: [class, canvas tokens with identity 2, structure tokens with identity 0], both with the code', () => {
    const bits = Int32Array.from([0, 1, 2, 1, 2, 1, 0, 1]);
    const ids = structureRopeIds(baseIds(2, 2), bits, 1, 5);
    const token = (t: number) => Array.from(ids.slice(t * 5, t * 5 + 5));
    expect(ids.length).toBe(9 * 5);
    expect(token(0)).toEqual([1, 1, 1, 1, 1]);
    expect(token(2)).toEqual([2, 2, 1, 0, 1]);
    expect(token(6)).toEqual([0, 2, 1, 0, 1]);
    expect(token(8)).toEqual([0, 0, 1, 1, 1]);
  });

  it('rotaryTable: angle id_a·10000^(−2i/d_a) per pair, axes in order, leak-free', async () => {
    const dims = [8, 2, 2, 10, 10];
    const ids = [1, 2, 1, 3, 5]; // one token
    const { cos, sin } = await expectNoLeaks(async () => {
      const table = rotaryTable(ids, 1, 1, dims);
      expect(table.cos_B1TF.shape).toEqual([1, 1, 1, 16]);
      const result = { cos: Array.from(await table.cos_B1TF.data()), sin: Array.from(await table.sin_B1TF.data()) };
      tf.dispose(table);
      return result;
    });
    const angles = [1, 0.1, 0.01, 0.001, 2, 1, ...[0, 1, 2, 3, 4].map((i) => 3 * 10000 ** (-i / 5)), ...[0, 1, 2, 3, 4].map((i) => 5 * 10000 ** (-i / 5))];
    angles.forEach((a, f) => {
      expect(cos[f]).toBeCloseTo(Math.cos(a), 6);
      expect(sin[f]).toBeCloseTo(Math.sin(a), 6);
    });
  });

  it('refuses ids and codes of the wrong size with ShapeErrors', () => {
    expect(() => rotaryTable([1, 2, 3], 1, 1, [8, 2, 2, 10, 10])).toThrow(ShapeError);
    expect(() => contentRopeIds(baseIds(2, 2), new Int32Array(7), 1, 5)).toThrow(ShapeError);
    expect(() => structureRopeIds(baseIds(2, 2), new Int32Array(8), 2, 5)).toThrow(ShapeError);
  });
});

describe('flow-time embedding', () => {
  it('is [cos(1000·t·f_j), sin(1000·t·f_j)] with f_j = 10000^(−j/(dim/2))', () => {
    const e = timestepEmbedding(0.25, 8);
    const freqs = [0, 1, 2, 3].map((j) => Math.exp((-Math.log(10000) * j) / 4));
    freqs.forEach((f, j) => {
      expect(e[j]).toBeCloseTo(Math.cos(250 * f), 4);
      expect(e[4 + j]).toBeCloseTo(Math.sin(250 * f), 4);
    });
    expect(Array.from(timestepEmbedding(0, 4))).toEqual([1, 1, 0, 0]);
  });
});
