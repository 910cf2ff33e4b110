import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { weightedLaplacianComposite } from '../src/kernels/weightedLaplacian/composite.js';
import { weightedLaplacian } from '../src/kernels/weightedLaplacian/register.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

describe(`weighted-Laplacian op: backend kernel vs composite [${backendName()}]`, () => {
  // Odd sizes and several systems; link weights zero on the last column/row as PixelGrid makes them.
  for (const [h, w, s] of [[5, 7, 3], [16, 16, 1], [33, 9, 6]] as const) {
    it(`agree on a ${h}×${w} grid with ${s} systems, leak-free`, async () => {
      const n = h * w * s;
      const u = tf.tensor2d(Float32Array.from({ length: n }, (_, k) => Math.sin(0.37 * k) + 0.1 * Math.cos(2.1 * k)), [h * w, s]);
      const lx = tf.tensor2d(Float32Array.from({ length: n }, (_, k) => (Math.floor(k / s) % w === w - 1 ? 0 : 1 + Math.sin(k) ** 2)), [h * w, s]);
      const ly = tf.tensor2d(Float32Array.from({ length: n }, (_, k) => (Math.floor(k / s) >= (h - 1) * w ? 0 : 0.5 + Math.cos(k) ** 2)), [h * w, s]);
      const [fast, plain] = await expectNoLeaks(async () => {
        const a = weightedLaplacian(u, lx, ly, s, w * s);
        const b = weightedLaplacianComposite(u, lx, ly, s, w * s);
        const out = [await a.data(), await b.data()] as const;
        expect(a.shape).toEqual([h * w, s]);
        tf.dispose([a, b]);
        return out;
      });
      fast.forEach((v, k) => expect(Math.abs(v - plain[k]!)).toBeLessThan(1e-5));
      tf.dispose([u, lx, ly]);
    });
  }
});
