#!/usr/bin/env node
// Times VAR's generator at 256 px (schedule 1,2,3,4,5,6,8,10,13,16; L = 680) with random official-init weights on
// each tfjs backend: the teacher-forced forward (block-causal attention over all 680 tokens) and a full KV-cached
// 10-scale pass (step by step, as a sampler runs it), for batch 1 and the doubled CFG batch 2.
//
//   npm run bench -w @nextdetail/transformer -- [--backends wasm,webgpu,cpu] [--depth 16] [--runs 3] [--cpu-runs 1]
//                                              [--batches 1,2] [--modes teacher_forced,kv_cached_10_scales]
//
// Needs the built package (`npm run build`). stdout: one JSON line per measurement (ms = median over runs; GFLOP/s
// from the multiply-add count of the linears and attention; numTensors before and after, which must agree).
// stderr: progress.
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  allowNegative: true,
  options: {
    backends: { type: 'string', default: 'wasm,webgpu,cpu' },
    depth: { type: 'string', default: '16' },
    runs: { type: 'string', default: '3' },
    // cpu (and webgpu on a software driver) take minutes per d16 pass.
    'cpu-runs': { type: 'string', default: '1' },
    // An untimed first pass compiles kernels and fills memory pools.
    warmup: { type: 'boolean', default: true },
    batches: { type: 'string', default: '1,2' },
    modes: { type: 'string', default: 'teacher_forced,kv_cached_10_scales' },
    module: { type: 'string', default: '@nextdetail/transformer' },
  },
});
const DEPTH = Number(opt.depth);
const PATCH_NUMS = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];

const tf = await import('@tensorflow/tfjs');
const { useBackend, RandomGenerator } = await import('@nextdetail/core/node');
const { VarGenerator, varConfigForDepth } = await import(opt.module);

const log = (...a) => console.error('[transformer.bench]', ...a);

/** Floating-point operations (2 per multiply-add) of one pass over query tokens per scale against `keys` per scale. */
function flops(c, batch, queries, keys) {
  const C = c.width;
  const V = c.vocabSize;
  let macs = 0;
  for (let si = 0; si < queries.length; si++) {
    const q = queries[si];
    // per block: qkv 3C², proj C², ffn 2·4C² per token; attention q·kᵀ and p·v, C per key each
    macs += c.depth * (q * 12 * C * C + 2 * q * keys[si] * C);
    macs += q * C * V + q * c.latentChannels * C;
  }
  // AdaLN linears run once per row and pass: 6C² per block, 2C² for the head
  macs += (c.depth * 6 * C * C + 2 * C * C) * queries.length;
  return 2 * batch * macs;
}

/** Median wall time of `runs` calls of `fn`, and what the last call returned. */
async function median(runs, fn) {
  const times = [];
  let last;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    last = await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], last };
}

async function benchBackend(backend) {
  let info;
  try {
    info = await useBackend(backend);
  } catch (err) {
    log(`${backend}: unavailable (${err.message})`);
    return;
  }
  const soft = backend === 'cpu' || /lavapipe|llvmpipe|swiftshader/i.test(JSON.stringify(info ?? {}));
  const runs = Number(soft ? opt['cpu-runs'] : opt.runs);
  const config = varConfigForDepth(DEPTH);
  log(`${backend}: building d${DEPTH} (${config.width} wide) with random weights`);
  const model = await VarGenerator.init(config, new RandomGenerator(0));
  const L = PATCH_NUMS.reduce((a, p) => a + p * p, 0);
  const sizes = PATCH_NUMS.map((p) => p * p);
  const cumulative = sizes.map((_, i) => sizes.slice(0, i + 1).reduce((a, b) => a + b, 0));
  try {
    for (const batch of opt.batches.split(',').map(Number)) {
      // batch 2 is one image under CFG: its conditional and unconditional rows.
      const labels = batch === 2 ? [207, config.numClasses] : Array.from({ length: batch }, () => 207);
      const rng = new RandomGenerator(1);
      const x = rng.normal([batch, L - 1, config.latentChannels]);
      const stepInputs = sizes.slice(1).map((n) => rng.normal([batch, n, config.latentChannels]));

      const forward = async () => {
        const logits = model.forward(labels, x);
        await logits.data();
        logits.dispose();
      };
      const cached = async () => {
        const cache = model.createCache(labels);
        try {
          let bytes = 0;
          for (let si = 0; si < PATCH_NUMS.length; si++) {
            const logits = model.step(cache, si === 0 ? null : stepInputs[si - 1]);
            if (si === PATCH_NUMS.length - 1) await logits.data();
            logits.dispose();
            bytes = cache.byteLength;
          }
          return bytes;
        } finally {
          cache.dispose();
        }
      };

      const modes = [
        ['teacher_forced', forward, flops(config, batch, [L], [L])],
        ['kv_cached_10_scales', cached, flops(config, batch, sizes, cumulative)],
      ].filter(([mode]) => opt.modes.split(',').includes(mode));
      for (const [mode, fn, fl] of modes) {
        if (opt.warmup) {
          log(`${backend}: ${mode}, batch ${batch}: warm-up`);
          await fn();
        }
        const before = tf.memory().numTensors;
        const { ms, last } = await median(runs, fn);
        const after = tf.memory().numTensors;
        const line = {
          bench: `var_d${DEPTH}_256px_${mode}`,
          backend,
          batch,
          cfg_doubled: batch === 2,
          runs,
          ms: Number(ms.toFixed(2)),
          gflop: Number((fl / 1e9).toFixed(3)),
          gflops_per_s: Number((fl / 1e6 / ms).toFixed(2)),
          tensors_before: before,
          tensors_after: after,
          ...(mode === 'kv_cached_10_scales' ? { cache_bytes: last } : {}),
        };
        console.log(JSON.stringify(line));
      }
      tf.dispose([x, ...stepInputs]);
    }
  } finally {
    model.dispose();
  }
}

for (const backend of opt.backends.split(',').map((s) => s.trim()).filter(Boolean)) {
  await benchBackend(backend);
}
