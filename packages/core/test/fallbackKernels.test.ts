import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  batchMatMulGrouped,
  conv2dBackpropFilterComposite,
  fitsBatchMatMulGrouped,
  fitsMatMulUntransposed,
  matMulUntransposed,
  unsortedSegmentSumComposite,
} from '@nextdetail/core';
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

  /** tf.matMul on the cpu backend's kernels: the reference for the grouped route. */
  async function cpuMatMul(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean) {
    const previous = tf.getBackend();
    const [ad, bd] = await Promise.all([a.data(), b.data()]);
    await tf.setBackend('cpu');
    const y = tf.tidy(() => tf.matMul(tf.tensor(ad, a.shape), tf.tensor(bd, b.shape), transposeA, transposeB));
    const data = await y.data();
    y.dispose();
    await tf.setBackend(previous);
    return data;
  }

  /** Checks `route` and tf.matMul (routed on wasm) against the cpu backend's product, shape and leaks included. */
  async function expectProducts(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean, route: typeof batchMatMulGrouped, shape: number[]) {
    const want = await cpuMatMul(a, b, transposeA, transposeB);
    for (const product of [route, (x: tf.Tensor, y: tf.Tensor, tA: boolean, tB: boolean) => tf.matMul(x, y, tA, tB)]) {
      const got = await expectNoLeaks(async () => {
        const y = product(a, b, transposeA, transposeB);
        const result = { shape: y.shape, data: await y.data() };
        y.dispose();
        return result;
      });
      expect(got.shape).toEqual(shape);
      got.data.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
    }
  }

  const productCases: Array<{ batch: number[]; M: number; K: number; N: number; transposeA: boolean; transposeB: boolean }> = [
    { batch: [3], M: 17, K: 5, N: 16, transposeA: false, transposeB: false },
    { batch: [2, 3], M: 16, K: 9, N: 21, transposeA: false, transposeB: true },
    { batch: [4], M: 18, K: 7, N: 19, transposeA: true, transposeB: false },
    { batch: [2, 1, 2], M: 20, K: 3, N: 16, transposeA: true, transposeB: true },
  ];
  for (const { batch, M, K, N, transposeA, transposeB } of productCases) {
    it(`batchMatMulGrouped = matMul ([${batch}] × ${M}×${K}·${K}×${N}, transposeA ${transposeA}, transposeB ${transposeB}), by itself and through tf.matMul`, async () => {
      const size = batch.reduce((p, d) => p * d, 1);
      const a = tf.tensor(values(size * M * K, 6), [...batch, ...(transposeA ? [K, M] : [M, K])]);
      const b = tf.tensor(values(size * K * N, 7), [...batch, ...(transposeB ? [N, K] : [K, N])]);
      expect(fitsBatchMatMulGrouped(a, b, transposeA, transposeB)).toBe(true);
      await expectProducts(a, b, transposeA, transposeB, batchMatMulGrouped, [...batch, M, N]);
      tf.dispose([a, b]);
    });
  }

  const singleCases: Array<{ a: number[]; b: number[]; transposeA: boolean; transposeB: boolean; out: number[] }> = [
    { a: [40, 24], b: [40, 8], transposeA: true, transposeB: false, out: [24, 8] },
    { a: [17, 6], b: [9, 6], transposeA: false, transposeB: true, out: [17, 9] },
    { a: [1, 5, 16], b: [1, 1, 7, 5], transposeA: true, transposeB: true, out: [1, 1, 16, 7] },
  ];
  for (const { a: aShape, b: bShape, transposeA, transposeB, out } of singleCases) {
    it(`matMulUntransposed = matMul ([${aShape}] · [${bShape}], transposeA ${transposeA}, transposeB ${transposeB}), by itself and through tf.matMul`, async () => {
      const a = tf.tensor(values(aShape.reduce((p, d) => p * d, 1), 11), aShape);
      const b = tf.tensor(values(bShape.reduce((p, d) => p * d, 1), 12), bShape);
      expect(fitsMatMulUntransposed(a, b, transposeA, transposeB)).toBe(true);
      await expectProducts(a, b, transposeA, transposeB, matMulUntransposed, out);
      tf.dispose([a, b]);
    });
  }

  it('fitsMatMulUntransposed takes only single float32 products of at least 16 rows with a transposed operand', () => {
    const info = (shape: number[], dtype: tf.DataType = 'float32') => ({ shape, dtype, dataId: {} }) as unknown as tf.TensorInfo;
    expect(fitsMatMulUntransposed(info([4, 16]), info([4, 3]), true, false)).toBe(true);
    expect(fitsMatMulUntransposed(info([16, 4]), info([3, 4]), false, true)).toBe(true);
    expect(fitsMatMulUntransposed(info([16, 4]), info([4, 3]), false, false)).toBe(false);
    expect(fitsMatMulUntransposed(info([15, 4]), info([3, 4]), false, true)).toBe(false);
    expect(fitsMatMulUntransposed(info([2, 16, 4]), info([2, 3, 4]), false, true)).toBe(false);
    expect(fitsMatMulUntransposed(info([16, 4], 'int32'), info([3, 4], 'int32'), false, true)).toBe(false);
  });

  it('fitsBatchMatMulGrouped takes only unbroadcast float32 batches of at least 16 × 16 outputs', () => {
    const info = (shape: number[], dtype: tf.DataType = 'float32') => ({ shape, dtype, dataId: {} }) as unknown as tf.TensorInfo;
    expect(fitsBatchMatMulGrouped(info([2, 16, 4]), info([2, 4, 16]), false, false)).toBe(true);
    expect(fitsBatchMatMulGrouped(info([2, 15, 4]), info([2, 4, 16]), false, false)).toBe(false);
    expect(fitsBatchMatMulGrouped(info([2, 4, 15]), info([2, 4, 16]), true, false)).toBe(false);
    expect(fitsBatchMatMulGrouped(info([2, 16, 4]), info([2, 15, 4]), false, true)).toBe(false);
    expect(fitsBatchMatMulGrouped(info([1, 16, 4]), info([1, 4, 16]), false, false)).toBe(false);
    expect(fitsBatchMatMulGrouped(info([16, 4]), info([4, 16]), false, false)).toBe(false);
    expect(fitsBatchMatMulGrouped(info([2, 16, 4]), info([1, 4, 16]), false, false)).toBe(false);
    expect(fitsBatchMatMulGrouped(info([2, 16, 4], 'int32'), info([2, 4, 16], 'int32'), false, false)).toBe(false);
    if (backendName() === 'wasm') {
      const kernel = tf.getKernel(tf.BatchMatMul, 'wasm')!;
      expect(Symbol.for('@nextdetail/core/wrapped-kernel') in kernel.kernelFunc, 'wasm BatchMatMul routed through XNNPACK').toBe(true);
    }
  });

  it('a batched matMul trains on this backend: its gradients (transposed products) through the registered kernels match the cpu backend', async () => {
    const a = tf.tensor3d(values(3 * 20 * 6, 8), [3, 20, 6]);
    const b = tf.tensor3d(values(3 * 18 * 6, 9), [3, 18, 6]);
    const weights = tf.tensor3d(values(3 * 20 * 18, 10), [3, 20, 18]);
    const loss = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D, false, true), weights));
    const [ga, gb] = tf.grads(loss)([a, b]);
    // ∂/∂a = W·b and ∂/∂b = Wᵀ·a, the products written out.
    const wantA = await cpuMatMul(weights, b, false, false);
    const wantB = await cpuMatMul(weights, a, true, false);
    (await ga!.data()).forEach((v, i) => expect(Math.abs(v - wantA[i]!)).toBeLessThan(1e-5));
    (await gb!.data()).forEach((v, i) => expect(Math.abs(v - wantB[i]!)).toBeLessThan(1e-5));
    tf.dispose([a, b, weights, ga!, gb!]);
  });

  it('a clone keeps its values after the original is gone, and its memory is freed with the last tensor that shares it', async () => {
    const dataIds = () => tf.engine().backend.numDataIds();
    const [tensorsBefore, dataIdsBefore] = [tf.memory().numTensors, dataIds()];
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    x.dispose();
    const z = tf.add(y, 1);
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
    expect(Array.from(await z.data())).toEqual([2, 3, 4, 5]);
    // The engine clones the tensors a gradient needs; the gradient of Σx² is 2x.
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, t)))(z);
    expect(Array.from(await g.data())).toEqual([4, 6, 8, 10]);
    tf.dispose([y, z, g]);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(dataIds()).toBe(dataIdsBefore);
    if (backendName() === 'wasm') {
      const kernel = tf.getKernel(tf.Identity, 'wasm')!;
      expect(Symbol.for('@nextdetail/core/wrapped-kernel') in kernel.kernelFunc, 'wasm Identity shares memory').toBe(true);
    }
  });

  it('gather is differentiable on this backend (its gradient is UnsortedSegmentSum)', async () => {
    const table = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, tf.tensor1d([0, 2, 2], 'int32'))))(table);
    expect(Array.from(await g.data())).toEqual([1, 1, 0, 0, 2, 2, 0, 0]);
    tf.dispose([table, g]);
  });
});
