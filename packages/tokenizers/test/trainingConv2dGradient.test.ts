import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { conv2dFilterGradient } from '../src/kernels/conv2dTraining/filterGradient.js';
import { conv2dInputGradient } from '../src/kernels/conv2dTraining/inputGradient.js';
import { conv2dWithFastGradients } from '../src/kernels/conv2dTraining/register.js';
import { nearestDouble } from '../src/vqvae/upsample.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { normals } from './helpers.js';

describe(`conv2d input and filter gradients as forward convs vs tfjs's gradients [${backendName()}]`, () => {
  // The VAE's three conv kinds: 3×3 'same', 1×1, and Downsample's stride-2 'valid' on a right/bottom-padded input.
  for (const [name, k, stride, pad, h] of [
    ['3×3 same', 3, 1, 'same', 6],
    ['1×1', 1, 1, 'same', 5],
    ['3×3 stride 2 valid (odd padded size)', 3, 2, 'valid', 9],
    ['3×3 stride 2 valid (even padded size: the last row is in no window)', 3, 2, 'valid', 8],
    ['3×3 stride 2 same', 3, 2, 'same', 7],
  ] as const) {
    it(`${name}: value and every gradient agree, leak-free`, async () => {
      const [b, ci, co] = [2, 3, 4];
      const x = tf.tensor4d(normals(b * h * h * ci, 1), [b, h, h, ci]);
      const w = tf.tensor4d(normals(k * k * ci * co, 2), [k, k, ci, co]);
      const bias = tf.tensor1d(normals(co, 3));
      const oh = pad === 'same' ? Math.ceil(h / stride) : Math.floor((h - k) / stride) + 1;
      const weight = tf.tensor4d(normals(b * oh * oh * co, 4), [b, oh, oh, co]);
      const loss = (conv: (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D) =>
        tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) => tf.sum(tf.mul(conv(xs as tf.Tensor4D, ws as tf.Tensor4D, bs as tf.Tensor1D), weight)));
      const diffs = await expectNoLeaks(async () => {
        const fast = loss((xs, ws, bs) => conv2dWithFastGradients(xs, ws, bs, stride, pad))([x, w, bias]);
        const plain = loss((xs, ws, bs) => tf.add(tf.conv2d(xs, ws, stride, pad), bs))([x, w, bias]);
        const direct = conv2dFilterGradient(x, weight, [k, k, ci, co], stride, pad);
        const directX = conv2dInputGradient(weight, w, [b, h, h, ci], stride, pad);
        const out: number[] = [];
        for (const [a, p] of [...fast.map((g, i) => [g, plain[i]!] as const), [direct, plain[1]!] as const, [directX, plain[0]!] as const]) {
          expect(a.shape).toEqual(p.shape);
          const [da, dp] = [await a.data(), await p.data()];
          out.push(Math.max(...Array.from(da, (v, i) => Math.abs(v - dp[i]!))));
        }
        tf.dispose([...fast, ...plain, direct, directX]);
        return out;
      });
      diffs.forEach((d) => expect(d).toBeLessThan(1e-4));
      tf.dispose([x, w, bias, weight]);
    });
  }
});

describe(`Upsample's nearest ×2 [${backendName()}]`, () => {
  it('copies input ⌊i/2⌋ to output i and has the 2×2 block sum as its gradient, leak-free', async () => {
    const [b, h, w, c] = [2, 3, 4, 2];
    const x = tf.tensor4d(normals(b * h * w * c, 5), [b, h, w, c]);
    const weight = tf.tensor4d(normals(b * 4 * h * w * c, 6), [b, 2 * h, 2 * w, c]);
    const [up, grad] = await expectNoLeaks(async () => {
      const y = nearestDouble(x);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(nearestDouble(a as tf.Tensor4D), weight)))(x);
      const out = [(await y.array()) as number[][][][], (await g.array()) as number[][][][]] as const;
      tf.dispose([y, g]);
      return out;
    });
    const [xs, ws] = [(await x.array()) as number[][][][], (await weight.array()) as number[][][][]];
    for (let n = 0; n < b; n++)
      for (let i = 0; i < 2 * h; i++)
        for (let j = 0; j < 2 * w; j++)
          for (let k = 0; k < c; k++) expect(up[n]![i]![j]![k]).toBe(xs[n]![i >> 1]![j >> 1]![k]);
    for (let n = 0; n < b; n++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          for (let k = 0; k < c; k++) {
            const sum = [0, 1].flatMap((di) => [0, 1].map((dj) => ws[n]![2 * i + di]![2 * j + dj]![k]!)).reduce((a, v) => a + v, 0);
            expect(Math.abs(grad[n]![i]![j]![k]! - sum)).toBeLessThan(1e-5);
          }
    tf.dispose([x, weight]);
  });
});
