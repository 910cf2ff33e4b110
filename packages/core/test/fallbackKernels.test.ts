import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { conv2dBackpropFilterComposite, unsortedSegmentSumComposite } from '@nextdetail/core';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

// Deterministic pseudo-random values (no RNG state shared with other tests).
function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 0.5);
}

/** ∂/∂W Σ(conv2d(x, W) ⊙ dy), the reference the composite must reproduce, computed with the CPU backend's kernels. */
async function cpuFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, w: tf.Tensor4D, strides: [number, number], pad: 'same' | 'valid' | number) {
  const previous = tf.getBackend();
  const [xd, dyd, wd] = await Promise.all([x.data(), dy.data(), w.data()]);
  await tf.setBackend('cpu');
  const g = tf.tidy(() => {
    const [xc, dyc, wc] = [tf.tensor4d(xd, x.shape), tf.tensor4d(dyd, dy.shape), tf.tensor4d(wd, w.shape)];
    return tf.grad((filter: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xc, filter as tf.Tensor4D, strides, pad), dyc)))(wc);
  });
  const data = await g.data();
  g.dispose();
  await tf.setBackend(previous);
  return data;
}

describe(`composite fallback kernels [${backendName()}]`, () => {
  const convCases: Array<{ x: [number, number, number, number]; k: number; strides: [number, number]; pad: 'same' | 'valid' | number }> = [
    { x: [2, 7, 9, 3], k: 3, strides: [1, 1], pad: 'same' },
    { x: [1, 8, 8, 4], k: 3, strides: [2, 2], pad: 'same' },
    { x: [2, 9, 6, 2], k: 2, strides: [2, 1], pad: 'valid' },
    { x: [1, 5, 5, 2], k: 3, strides: [1, 1], pad: 1 },
    { x: [1, 10, 10, 3], k: 4, strides: [2, 2], pad: 1 },
  ];
  for (const { x: xShape, k, strides, pad } of convCases) {
    it(`Conv2DBackpropFilter composite = conv2d's filter gradient (x ${xShape}, ${k}×${k}, strides ${strides}, pad ${pad})`, async () => {
      const co = 5;
      const x = tf.tensor4d(values(xShape.reduce((a, b) => a * b), 1), xShape);
      const w = tf.tensor4d(values(k * k * xShape[3] * co, 2), [k, k, xShape[3], co]);
      const outShape = tf.tidy(() => tf.conv2d(x, w, strides, pad).shape);
      const dy = tf.tensor4d(values(outShape.reduce((a, b) => a * b), 3), outShape);
      const want = await cpuFilterGrad(x, dy, w, strides, pad);
      const got = await expectNoLeaks(async () => {
        const g = conv2dBackpropFilterComposite(x, dy, [k, k, xShape[3], co], strides, pad);
        const d = await g.data();
        g.dispose();
        return d;
      });
      tf.dispose([x, w, dy]);
      expect(got.length).toBe(want.length);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-4));
    });
  }

  it('conv2d trains on this backend: tf.grad reaches the filter through the registered kernels', async () => {
    const x = tf.tensor4d(values(2 * 6 * 6 * 2, 4), [2, 6, 6, 2]);
    const w = tf.tensor4d(values(3 * 3 * 2 * 3, 5), [3, 3, 2, 3]);
    const g = tf.grad((filter: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, filter as tf.Tensor4D, 1, 'same'))))(w);
    const got = await g.data();
    const dy: tf.Tensor4D = tf.tidy(() => tf.mul(2, tf.conv2d(x, w, 1, 'same')));
    const want = await cpuFilterGrad(x, dy, w, [1, 1], 'same');
    tf.dispose([x, w, g, dy]);
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-4));
  });

  it('UnsortedSegmentSum composite sums rows per segment, drops ids out of range, keeps dtype', async () => {
    const x = tf.tensor3d(Float32Array.from({ length: 5 * 2 * 3 }, (_, i) => i), [5, 2, 3]);
    const ids = tf.tensor1d([2, 0, 2, -1, 7], 'int32');
    const r = await expectNoLeaks(async () => {
      const out = unsortedSegmentSumComposite(x, ids, 4);
      const result = { shape: out.shape, data: Array.from(await out.data()) };
      out.dispose();
      return result;
    });
    expect(r.shape).toEqual([4, 2, 3]);
    const row = (i: number) => Array.from({ length: 6 }, (_, j) => i * 6 + j);
    expect(r.data).toEqual([...row(1), ...Array(6).fill(0), ...row(0).map((v, j) => v + row(2)[j]!), ...Array(6).fill(0)]);
    const xi = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    const segmented = unsortedSegmentSumComposite(xi, tf.tensor1d([1, 1], 'int32'), 2);
    expect(segmented.dtype).toBe('int32');
    expect(Array.from(await segmented.data())).toEqual([0, 0, 4, 6]);
    tf.dispose([x, ids, xi, segmented]);
  });

  it('addN sums any number of tensors (webgpu drops inputs past its binding limit without the grouped kernel)', async () => {
    for (const n of [1, 2, 6, 7, 8, 9, 13, 40]) {
      const xs = Array.from({ length: n }, (_, i) => tf.fill([2, 3, 5, 40], i + 1));
      const total = await expectNoLeaks(async () => {
        const s = tf.addN(xs);
        const d = await s.data();
        s.dispose();
        return d;
      });
      expect(total.every((v) => v === (n * (n + 1)) / 2), `n = ${n}`).toBe(true);
      tf.dispose(xs);
    }
  });

  it('gather is differentiable on this backend (its gradient is UnsortedSegmentSum)', async () => {
    const table = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, tf.tensor1d([0, 2, 2], 'int32'))))(table);
    expect(Array.from(await g.data())).toEqual([1, 1, 0, 0, 2, 2, 0, 0]);
    tf.dispose([table, g]);
  });
});
