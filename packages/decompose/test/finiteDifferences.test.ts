import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fromField, PixelGrid, toField } from '../src/finiteDifferences.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

// [B, H, W, C] with B·C = 6 systems on a 5×4 grid: odd sizes catch row/column mix-ups.
const [B, H, W, C] = [2, 5, 4, 3];
const S = B * C;
const field = (seed: number) => Float32Array.from({ length: H * W * S }, (_, k) => Math.sin(seed + 0.7 * k) + 0.2 * Math.cos(1.3 * k));

/** Reference (Dxᵀ W Dx + Dyᵀ W Dy) u by the definition, one system at a time, in float64. */
function laplacianByDefinition(u: Float32Array, w: Float32Array): Float64Array {
  const out = new Float64Array(u.length);
  const at = (i: number, j: number, s: number) => (i * W + j) * S + s;
  for (let s = 0; s < S; s++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        if (j < W - 1) {
          const flux = w[at(i, j, s)]! * (u[at(i, j + 1, s)]! - u[at(i, j, s)]!);
          out[at(i, j, s)] = out[at(i, j, s)]! - flux;
          out[at(i, j + 1, s)] = out[at(i, j + 1, s)]! + flux;
        }
        if (i < H - 1) {
          const flux = w[at(i, j, s)]! * (u[at(i + 1, j, s)]! - u[at(i, j, s)]!);
          out[at(i, j, s)] = out[at(i, j, s)]! - flux;
          out[at(i + 1, j, s)] = out[at(i + 1, j, s)]! + flux;
        }
      }
  return out;
}

describe(`PixelGrid finite differences [${backendName()}]`, () => {
  it('weightedLaplacian equals Dxᵀ W Dx + Dyᵀ W Dy by definition, and its diagonal is exact', async () => {
    const grid = new PixelGrid(H, W, S);
    const [uData, wData] = [field(1), field(2).map((v) => v * v)];
    const u = tf.tensor2d(uData, [H * W, S]);
    const w = tf.tensor2d(wData, [H * W, S]);
    const [lap, diag] = await expectNoLeaks(async () => {
      const links = grid.linkWeights(w);
      const l = grid.weightedLaplacian(u, links);
      const d = grid.weightedLaplacianDiagonal(links);
      const out = [await l.data(), await d.data()] as const;
      tf.dispose([l, d, links.x, links.y]);
      return out;
    });
    const want = laplacianByDefinition(uData, wData);
    lap.forEach((v, k) => expect(Math.abs(v - want[k]!)).toBeLessThan(1e-5));
    // The diagonal is the response at a pixel to a unit impulse at that pixel.
    for (const k of [0, 5 * S + 2, (H * W - 1) * S + 5, (2 * W + 3) * S + 1]) {
      const impulse = new Float32Array(H * W * S);
      impulse[k] = 1;
      expect(Math.abs(diag[k]! - laplacianByDefinition(impulse, wData)[k]!)).toBeLessThan(1e-6);
    }
    tf.dispose([u, w]);
    grid.dispose();
  });

  it('diff is the forward difference with a zero last column/row', async () => {
    const grid = new PixelGrid(H, W, S);
    const data = field(3);
    const u = tf.tensor2d(data, [H * W, S]);
    const [dx, dy] = [grid.diff(u, 'x'), grid.diff(u, 'y')];
    const [dxd, dyd] = [await dx.data(), await dy.data()];
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let s = 0; s < S; s++) {
          const k = (i * W + j) * S + s;
          expect(dxd[k]).toBeCloseTo(j < W - 1 ? data[k + S]! - data[k]! : 0, 6);
          expect(dyd[k]).toBeCloseTo(i < H - 1 ? data[k + W * S]! - data[k]! : 0, 6);
        }
    tf.dispose([u, dx, dy]);
    grid.dispose();
  });

  it('toField and fromField are inverse and put each (image, channel) in its own column', async () => {
    const image = tf.tensor4d(Float32Array.from({ length: B * H * W * C }, (_, k) => k), [B, H, W, C]);
    const f = toField(image);
    expect(f.shape).toEqual([H * W, S]);
    const back = fromField(f, [B, H, W, C]);
    expect(Array.from(await back.data())).toEqual(Array.from(await image.data()));
    const column = tf.slice(f, [0, C + 1], [-1, 1]);
    expect(Array.from(await column.data()).slice(0, 2)).toEqual([H * W * C + 1, H * W * C + C + 1]);
    tf.dispose([image, f, back, column]);
  });
});
