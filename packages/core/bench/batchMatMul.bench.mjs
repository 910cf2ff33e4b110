#!/usr/bin/env node
// Times matrix products on the wasm backend, side by side in one run: tfjs-backend-wasm's own BatchMatMul kernel
// (XNNPACK for a single untransposed product, a scalar loop for every other) and tf.matMul once
// `registerFallbackKernels` has routed it through XNNPACK (`route`: grouped, untransposed or the kernel). The shapes
// are the generators' products, [n, M, K] · [n, K, N] with n = batch × heads:
//   nvg-sample   NVG structure flow at 50 images with CFG (n 100, 129 tokens, head 64): q·kᵀ and p·v
//   nvg-train    NVG training step at batch 16 (n 16): q·kᵀ and the gradient dS·k
//   linear-grad  the same step's 64 → 256 linear layer over 2 064 tokens: dW = xᵀ·dy and dx = dy·Wᵀ
//   var-scale    VAR d16, batch 2 with CFG (n 64, head 64): the 16×16 scale's 256 queries over its 680 keys
//   var-first    the same model's 1×1 scale: 1 query (below the routes' thresholds, left to the kernel)
//
//   npm run bench -w @nextdetail/core -- [--runs 5] [--cases nvg-sample,var-scale]
//
// Needs the built package (`npm run build`). stdout: one JSON line per case (ms = median over runs, GFLOP/s from the
// multiply-adds, speedup = kernel ms / routed ms, max |difference| of the routed product from the kernel's).
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    cases: { type: 'string', default: 'nvg-sample,nvg-train,linear-grad,var-scale,var-first' },
  },
});
const CASES = {
  'nvg-sample': [
    { n: 100, M: 129, K: 64, N: 129, transposeA: false, transposeB: true },
    { n: 100, M: 129, K: 129, N: 64, transposeA: false, transposeB: false },
  ],
  'nvg-train': [
    { n: 16, M: 129, K: 64, N: 129, transposeA: false, transposeB: true },
    { n: 16, M: 129, K: 129, N: 64, transposeA: false, transposeB: false },
  ],
  'linear-grad': [
    { n: 1, M: 64, K: 2064, N: 256, transposeA: true, transposeB: false },
    { n: 1, M: 2064, K: 256, N: 64, transposeA: false, transposeB: true },
  ],
  'var-scale': [
    { n: 64, M: 256, K: 64, N: 680, transposeA: false, transposeB: true },
    { n: 64, M: 256, K: 680, N: 64, transposeA: false, transposeB: false },
  ],
  'var-first': [{ n: 64, M: 1, K: 64, N: 1, transposeA: false, transposeB: true }],
};

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-wasm');
const { fitsBatchMatMulGrouped, fitsMatMulUntransposed, registerFallbackKernels } = await import('@nextdetail/core');
const log = (...a) => console.error('[batchMatMul.bench]', ...a);

await tf.setBackend('wasm');
const runs = Number(opt.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Median ms of `product` over the runs, after one warm-up whose values it returns; each result is read back so the
 * work is done.
 */
async function time(product) {
  const warm = product();
  const values = await warm.data();
  warm.dispose();
  const ms = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const y = product();
    await y.data();
    ms.push(performance.now() - t0);
    y.dispose();
  }
  return { ms: median(ms), values };
}

// Fixed pseudo-random values (tf.randomNormal's seed does not repeat its draws on wasm).
const filled = (shape, seed) => tf.tensor(Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233)), shape);
const inputs = (c, seed) => [
  filled([c.n, ...(c.transposeA ? [c.K, c.M] : [c.M, c.K])], 2 * seed),
  filled([c.n, ...(c.transposeB ? [c.N, c.K] : [c.K, c.N])], 2 * seed + 1),
];

// The kernel's timings and products first, while tf.matMul still reaches it unrouted.
const selected = opt.cases.split(',');
const fromKernel = new Map();
for (const name of selected) {
  for (const [i, c] of CASES[name].entries()) {
    const [a, b] = inputs(c, i);
    fromKernel.set(`${name}.${i}`, await time(() => tf.matMul(a, b, c.transposeA, c.transposeB)));
    tf.dispose([a, b]);
  }
}
log('routed:', registerFallbackKernels('wasm').join(', '));
for (const name of selected) {
  for (const [i, c] of CASES[name].entries()) {
    const [a, b] = inputs(c, i);
    const before = tf.memory().numTensors;
    const route = fitsBatchMatMulGrouped(a, b, c.transposeA, c.transposeB)
      ? 'grouped'
      : fitsMatMulUntransposed(a, b, c.transposeA, c.transposeB)
        ? 'untransposed'
        : 'kernel';
    const { ms: routedMs, values } = await time(() => tf.matMul(a, b, c.transposeA, c.transposeB));
    const after = tf.memory().numTensors;
    const kernel = fromKernel.get(`${name}.${i}`);
    const maxDiff = values.reduce((m, v, j) => Math.max(m, Math.abs(v - kernel.values[j])), 0);
    const gflop = (2 * c.n * c.M * c.K * c.N) / 1e9;
    console.log(JSON.stringify({
      bench: 'batchMatMul', backend: 'wasm', case: name, ...c, route,
      kernelMs: +kernel.ms.toFixed(2), routedMs: +routedMs.toFixed(2),
      kernelGflops: +((gflop / kernel.ms) * 1e3).toFixed(2), routedGflops: +((gflop / routedMs) * 1e3).toFixed(2),
      speedup: +(kernel.ms / routedMs).toFixed(2), maxDiff, numTensors: [before, after],
    }));
    tf.dispose([a, b]);
  }
}
