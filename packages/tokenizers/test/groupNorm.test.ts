import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { groupNormBatched, groupNormPerImage } from '../src/vqvae/groupNorm.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { normals } from './helpers.js';

/** Float64 GroupNorm of one [B, H, W, C] array (two-pass variance, eps 1e-6). */
function groupNorm64(x: Float32Array, [b, h, w, c]: [number, number, number, number], gamma: Float32Array, beta: Float32Array, groups: number): Float64Array {
  const out = new Float64Array(x.length);
  const per = c / groups;
  for (let n = 0; n < b; n++) {
    for (let g = 0; g < groups; g++) {
      const at = (p: number, k: number) => (n * h * w + p) * c + g * per + k;
      let sum = 0;
      for (let p = 0; p < h * w; p++) for (let k = 0; k < per; k++) sum += x[at(p, k)]!;
      const mean = sum / (h * w * per);
      let sq = 0;
      for (let p = 0; p < h * w; p++) for (let k = 0; k < per; k++) sq += (x[at(p, k)]! - mean) ** 2;
      const inv = 1 / Math.sqrt(sq / (h * w * per) + 1e-6);
      for (let p = 0; p < h * w; p++) {
        for (let k = 0; k < per; k++) out[at(p, k)] = (x[at(p, k)]! - mean) * inv * gamma[g * per + k]! + beta[g * per + k]!;
      }
    }
  }
  return out;
}

describe(`GroupNorm: the batched and the image-by-image forms [${backendName()}]`, () => {
  for (const [b, h, c, groups] of [
    [3, 4, 8, 4],
    [1, 5, 6, 3],
    [2, 2, 4, 4],
  ] as const) {
    it(`B=${b}, ${h}×${h}×${c}, ${groups} groups: both match a float64 GroupNorm and have the same gradients, leak-free`, async () => {
      const shape: [number, number, number, number] = [b, h, h, c];
      // An offset mean (|mean| ≫ std) is where a one-pass variance would cancel.
      const xs = Float32Array.from(normals(b * h * h * c, 11), (v) => 20 + 0.5 * v);
      const [gs, bs] = [Float32Array.from(normals(c, 12), (v) => 1 + 0.2 * v), Float32Array.from(normals(c, 13))];
      const x = tf.tensor4d(xs, shape);
      const [gamma, beta] = [tf.tensor1d(gs), tf.tensor1d(bs)];
      const weight = tf.tensor4d(normals(b * h * h * c, 14), shape);
      const expected = groupNorm64(xs, shape, gs, bs, groups);
      const results = await expectNoLeaks(async () => {
        const out: { value: Float32Array; grads: Float32Array[] }[] = [];
        for (const form of [groupNormBatched, groupNormPerImage]) {
          const y = form(x, gamma, beta, groups);
          const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, bb: tf.Tensor) =>
            tf.sum(tf.mul(form(a as tf.Tensor4D, g as tf.Tensor1D, bb as tf.Tensor1D, groups), weight)),
          )([x, gamma, beta]);
          out.push({ value: (await y.data()) as Float32Array, grads: (await Promise.all(grads.map((t) => t.data()))) as Float32Array[] });
          tf.dispose([y, ...grads]);
        }
        return out;
      });
      for (const { value } of results) {
        expect(Math.max(...Array.from(value, (v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-4);
      }
      results[0]!.grads.forEach((g, k) => {
        const other = results[1]!.grads[k]!;
        const scale = Math.max(1, ...Array.from(other, Math.abs));
        expect(Math.max(...Array.from(g, (v, i) => Math.abs(v - other[i]!))) / scale).toBeLessThan(1e-4);
      });
      tf.dispose([x, gamma, beta, weight]);
    });
  }
});
