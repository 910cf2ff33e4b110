#!/usr/bin/env node
// Times encode + decode of one 256×256 image with the full-size tokenizers and random weights (PyTorch's default
// init from a seeded RandomGenerator) on each tfjs backend:
//   var:     VAR's VQVAE (ch 160, z 32, V 4096) + multi-scale residual quantizer, schedule 1,2,3,4,5,6,8,10,13,16:
//            image → ids of every scale → f̂ → image
//   flexvar: FlexVAR's LlamaGen VQ-16 (ch 128, z 256, embed 32, V 8912) + ground-truth quantizer at 16×16:
//            image → ids → normalised codes → image
//
//   npm run bench -w @nextdetail/tokenizers -- [--backends wasm,webgpu,cpu] [--models var,flexvar] [--runs 3]
//                                              [--cpu-runs 1] [--size 256] [--module @nextdetail/tokenizers]
//
// Needs the built package (`npm run build`), or `--module` pointing at another build. stdout: one JSON line per
// measurement (ms = median over runs; GFLOP/s from the multiply-add count of the convolutions and attention, which is
// where the time goes; numTensors before and after, which must agree). stderr: progress.
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,webgpu,cpu' },
    models: { type: 'string', default: 'var,flexvar' },
    runs: { type: 'string', default: '3' },
    // cpu (and webgpu on a software driver) take minutes per 256 px pass.
    'cpu-runs': { type: 'string', default: '1' },
    size: { type: 'string', default: '256' },
    module: { type: 'string', default: '@nextdetail/tokenizers' },
  },
});
const SIZE = Number(opt.size);
const PATCH_NUMS = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16].map((p) => Math.round((p * SIZE) / 256));

const tf = await import('@tensorflow/tfjs');
const { useBackend, RandomGenerator } = await import('@nextdetail/core/node');
const { VarVqvae, FlexVae, MultiScaleResidualQuantizer, GroundTruthMultiScaleQuantizer } = await import(opt.module);

const log = (...a) => console.error('[tokenizers.bench]', ...a);

/**
 * Floating-point operations (2 per multiply-add) of an autoencoder's convolutions and attention on a size×size image:
 * each conv's output resolution follows from its state-dict name (VAR's `down/up.{level}` or LlamaGen's
 * `conv_blocks.{i}`, the decoder's list reversed), attention costs 2·L²·C per block at the lowest level.
 */
function autoencoderFlops(spec, levels, size) {
  const res = (level) => size / 2 ** level;
  const lowest = levels - 1;
  let macs = 0;
  for (const [name, p] of Object.entries(spec)) {
    if (p.transform !== 'conv2d') continue;
    const [o, i, kh, kw] = p.shape;
    const m = name.match(/^(encoder|decoder)\.(?:down|up|conv_blocks)\.(\d+)\.(.*)$/);
    let r;
    if (!m) r = /^(encoder\.conv_in|decoder\.conv_out)/.test(name) ? res(0) : res(lowest);
    else {
      const [, part, index, rest] = m;
      const level = part === 'decoder' && name.includes('conv_blocks') ? lowest - Number(index) : Number(index);
      r = rest.startsWith('downsample') ? res(level + 1) : rest.startsWith('upsample') ? res(level - 1) : res(level);
      if (/^attn\.\d+\.(qkv|q)\./.test(rest)) {
        // One attention product pair per block, counted once at its q (or fused qkv) conv.
        const c = rest.includes('.qkv.') ? o / 3 : o;
        macs += 2 * (r * r) ** 2 * c;
      }
    }
    if (/(encoder|decoder)\.mid\.(attn_1|1)\.(qkv|q)\./.test(name)) {
      const c = name.includes('.qkv.') ? o / 3 : o;
      macs += 2 * (res(lowest) * res(lowest)) ** 2 * c;
    }
    macs += r * r * o * i * kh * kw;
  }
  return 2 * macs;
}

/** A TensorSource of seeded uniform values for the quantizer's tensors (the CNN uses fromConfig's init). */
function randomSource(shapes, seed) {
  const rng = new RandomGenerator(seed);
  return {
    keys: () => Object.keys(shapes),
    info: (name) => ({ dtype: 'F32', shape: shapes[name] }),
    tensor: async (name) => rng.uniform(shapes[name], -0.05, 0.05),
  };
}

async function buildVar() {
  const config = { ch: 160, zChannels: 32, vocabSize: 4096 };
  const vae = VarVqvae.fromConfig(config, new RandomGenerator(0));
  const shapes = { 'quantize.embedding.weight': [4096, 32] };
  for (let k = 0; k < 4; k++) {
    shapes[`quantize.quant_resi.qresi_ls.${k}.weight`] = [32, 32, 3, 3];
    shapes[`quantize.quant_resi.qresi_ls.${k}.bias`] = [32];
  }
  const quantizer = await MultiScaleResidualQuantizer.fromStateDict(randomSource(shapes, 1), { vocabSize: 4096, cvae: 32, patchNums: PATCH_NUMS });
  return {
    flops: autoencoderFlops(VarVqvae.stateDictSpec(config), 5, SIZE),
    run: (img) =>
      tf.tidy(() => {
        const { idx_Bl } = quantizer.encode(vae.encode(img));
        return vae.fhatToImage(quantizer.idxToFhat(idx_Bl));
      }),
    dispose: () => {
      vae.dispose();
      quantizer.dispose();
    },
  };
}

async function buildFlexVar() {
  const vae = FlexVae.fromConfig({}, new RandomGenerator(0));
  const quantizer = await GroundTruthMultiScaleQuantizer.fromStateDict(randomSource({ 'quantize.embedding.weight': [8912, 32] }, 1));
  const side = SIZE / 16;
  return {
    flops: autoencoderFlops(FlexVae.stateDictSpec({}), 5, SIZE),
    run: (img) =>
      tf.tidy(() => {
        const [idx] = quantizer.encode(vae.encode(img), [side]);
        return vae.decode(quantizer.embed(idx, side));
      }),
    dispose: () => {
      vae.dispose();
      quantizer.dispose();
    },
  };
}

async function median(runs, fn) {
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function benchBackend(backend, models) {
  let info;
  try {
    info = await useBackend(backend);
  } catch (err) {
    log(`${backend}: unavailable (${err.message})`);
    return;
  }
  const soft = backend === 'cpu' || /lavapipe|llvmpipe|swiftshader/i.test(JSON.stringify(info ?? {}));
  const runs = Number(soft ? opt['cpu-runs'] : opt.runs);
  const img = tf.tidy(() => tf.sub(tf.mul(new RandomGenerator(2).uniform([1, SIZE, SIZE, 3]), 2), 1));
  for (const name of models) {
    log(`${backend}: building ${name} with random weights`);
    const model = name === 'var' ? await buildVar() : await buildFlexVar();
    const before = tf.memory().numTensors;
    const pass = async () => {
      const out = model.run(img);
      await out.data();
      out.dispose();
    };
    log(`${backend}: ${name} warm-up`);
    await pass();
    const ms = await median(runs, pass);
    const after = tf.memory().numTensors;
    console.log(
      JSON.stringify({
        bench: `tokenizer_${name}_encode_decode_${SIZE}`,
        backend,
        runs,
        ms: Number(ms.toFixed(1)),
        gflop: Number((model.flops / 1e9).toFixed(2)),
        gflops_per_s: Number((model.flops / 1e6 / ms).toFixed(2)),
        numTensors: [before, after],
      }),
    );
    model.dispose();
  }
  img.dispose();
}

const models = opt.models.split(',').map((s) => s.trim()).filter(Boolean);
for (const m of models) if (m !== 'var' && m !== 'flexvar') throw new Error(`--models: unknown model "${m}" (var, flexvar)`);
for (const backend of opt.backends.split(',').map((s) => s.trim()).filter(Boolean)) await benchBackend(backend, models);
