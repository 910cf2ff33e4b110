#!/usr/bin/env node
// Trains the tiny class-conditional models the samplers tests load (test/assets/<method>.safetensors): for each of
// VAR, CART, FlexVAR and NVG, a tokenizer with the tokenizers package's trainer on the four-class shapes dataset of
// test/trained/shapesDataset.ts (8×8 images, 4×4 latents, 32 codes), then its generator (GeneratorTrainer, or
// NvgTrainer for NVG) on the shipped tokenizer's teacher-forcing inputs. Every draw is seeded: a rerun on the same
// backend writes the same files.
//
//   npm run train:tiny -w @nextdetail/samplers -- [--methods var,cart,flexvar,nvg] [--backend wasm] [--out DIR]
//                                                 [--tokenizer-steps 200] [--cart-tokenizer-steps 350]
//                                                 [--generator-steps 400] [--nvg-steps 1200]
//
// Needs the built packages (`npx turbo run build --filter=@nextdetail/transformer...`). Each file holds the tokenizer
// under `tokenizer.` (the trainer's checkpoint names) and the generator under `generator.` (its reference names),
// stored as F16 to stay small (the generator is trained on the F16 tokenizer it ships with); `__metadata__` has the
// configs, seed, step counts and final losses (JSON strings). stdout: the losses; stderr: progress.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { transform } from 'esbuild';

const { values: opt } = parseArgs({
  options: {
    methods: { type: 'string', default: 'var,cart,flexvar,nvg' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string', default: fileURLToPath(new URL('../test/assets/', import.meta.url)) },
    'tokenizer-steps': { type: 'string', default: '200' },
    // CART's tokenizer encodes the base and the detail factor with one VQVAE: it needs more steps than VAR's.
    'cart-tokenizer-steps': { type: 'string', default: '350' },
    'generator-steps': { type: 'string', default: '400' },
    // NVG's generator learns one stage's content and one structure stage per step: it needs more of them.
    'nvg-steps': { type: 'string', default: '1200' },
  },
});

const tf = await import('@tensorflow/tfjs');
const { useBackend } = await import('@nextdetail/core/node');
const { RandomGenerator, readSafetensors, writeSafetensors } = await import('@nextdetail/core');
const tok = await import('@nextdetail/tokenizers');
const gen = await import('@nextdetail/transformer');

// The dataset module has no runtime imports: its transpiled text loads as a data: URL.
const datasetSource = await readFile(new URL('../test/trained/shapesDataset.ts', import.meta.url), 'utf8');
const { code } = await transform(datasetSource, { loader: 'ts', format: 'esm' });
const { shapesDataset, SHAPE_CLASSES, SHAPE_IMAGE_SIZE } = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);

await useBackend(opt.backend);
tf.env().set('IS_TEST', true);
const log = (...a) => console.error('[train-tiny-models]', ...a);

const SEED = 2026;
const DATASET_SIZE = 512;
const NUM_CLASSES = SHAPE_CLASSES.length;
const VOCAB = 32;
const PATCH_NUMS = [1, 2, 3, 4];
const TOKENIZER = { steps: Number(opt['tokenizer-steps']), batch: 8, lr: 3e-3 };
const GENERATOR = { steps: Number(opt['generator-steps']), batch: 16, lr: 3e-3, conditionDropout: 0.1 };
const NVG_TRAINING = { steps: Number(opt['nvg-steps']), lr: 2e-3 };
const SCALE_GENERATOR = { depth: 2, width: 48, heads: 2 };
const VAR_VAE = { ch: 32, chMult: [1, 1], numResBlocks: 1, usingSa: false, usingMidSa: false, zChannels: 8, vocabSize: VOCAB };
const VAR_QUANTIZER = { vocabSize: VOCAB, cvae: VAR_VAE.zChannels, patchNums: PATCH_NUMS, quantResi: 0.5, shareQuantResi: 4 };
const CART_ORDER = 1;
const FLEX_VAE = { ch: 32, chMult: [1, 1], numResBlocks: 1, zChannels: 32, codebookEmbedDim: 8 };
const NVG_VAE = { ch: 24, chMult: [1, 1], numResBlocks: 1, embedDim: 8 };
const NVG_STAGES = 5;
const NVG_GENERATOR = {
  width: 48,
  depth: 2,
  heads: 2,
  headDim: 24,
  mlpHidden: 128,
  structureWidth: 32,
  structureDepth: 1,
  structureHeads: 1,
  structureHeadDim: 32,
  structureMlpHidden: 64,
  cvae: NVG_VAE.embedDim,
  vocabSize: VOCAB,
  numClasses: NUM_CLASSES,
  stages: NVG_STAGES,
  positions: 2 ** (NVG_STAGES - 1),
  structureBits: NVG_STAGES - 1,
  structureStages: NVG_STAGES - 2,
  timeEmbedDim: 16,
  ropeAxes: NVG_STAGES + 2,
};

const data = shapesDataset(new RandomGenerator(SEED), DATASET_SIZE);
const images = tf.tensor4d(data.pixels, data.shape);

/** Seeded batches of dataset indices. */
function batches(seed) {
  const rng = new RandomGenerator(seed);
  return (size) => Int32Array.from(rng.uniformArray(size), (u) => Math.min(DATASET_SIZE - 1, Math.floor(u * DATASET_SIZE)));
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** IEEE half of a float32, rounded to nearest even (the weights are far from the half range's limits). */
function halfBits(v) {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 112;
  const mant = x & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - exp;
    let h = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/** Every F32 tensor of a state dict as F16; other dtypes as they are. */
function toHalf(raws) {
  return Object.fromEntries(
    Object.entries(raws).map(([name, raw]) =>
      raw.dtype === 'F32' ? [name, { dtype: 'F16', shape: raw.shape, data: Uint16Array.from(raw.data, halfBits) }] : [name, raw],
    ),
  );
}

async function rawTensors(file) {
  const out = {};
  for (const name of file.keys()) out[name] = await file.rawTensor(name);
  return out;
}

/** Trains a tokenizer; returns its checkpoint in F16 (reloaded, it is the tokenizer the generator trains on). */
async function trainTokenizer(trainer, seed, steps = TOKENIZER.steps) {
  const pick = batches(seed);
  const recent = [];
  const t0 = performance.now();
  let last;
  for (let s = 0; s < steps; s++) {
    const x = tf.tidy(() => tf.gather(images, pick(TOKENIZER.batch)));
    last = await trainer.step(x);
    x.dispose();
    recent.push(last.loss.reconstruction);
    if ((s + 1) % 25 === 0) {
      log(`  tokenizer step ${s + 1}: total ${last.loss.total.toFixed(4)} rec ${last.loss.reconstruction.toFixed(4)} vq ${last.loss.vq.toFixed(4)} perplexity ${last.usage.perplexity.toFixed(1)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  const half = toHalf(await rawTensors(await readSafetensors(await trainer.checkpoint())));
  trainer.dispose();
  const tail = recent.slice(-10);
  return { raws: half, bytes: await writeSafetensors(half), losses: { reconstruction: tail.reduce((a, b) => a + b, 0) / tail.length, vq: last.loss.vq } };
}

/** Mean squared reconstruction error of the shipped tokenizer over the first 64 images. */
async function reconstructionError(tokenizer) {
  const x = tf.slice(images, [0, 0, 0, 0], [64, -1, -1, -1]);
  const plan = await tokenizer.encode(x);
  const recon = tokenizer.decode(plan);
  const e = tf.tidy(() => tf.mean(tf.square(tf.sub(recon, x))));
  const value = (await e.data())[0];
  tf.dispose([x, plan, recon, e]);
  return value;
}

/** The teacher-forced inputs and targets of the whole dataset under a VAR or CART tokenizer. */
async function teacherForcedDataset(tokenizer) {
  const plan = await tokenizer.encode(images);
  const input_NLC = tokenizer.teacherForcing(plan);
  const target_NL = tf.concat(plan.steps.map((s) => s.idx_Bl), 1);
  tf.dispose(plan);
  return { input_NLC, target_NL };
}

async function trainScaleGenerator(model, nextBatch, seed) {
  const trainer = new gen.GeneratorTrainer(model, {
    schedule: { peak: GENERATOR.lr, warmupSteps: Math.min(20, GENERATOR.steps), totalSteps: GENERATOR.steps },
    conditionDropout: GENERATOR.conditionDropout,
    seed,
  });
  const recent = [];
  const t0 = performance.now();
  for (let s = 0; s < GENERATOR.steps; s++) {
    const batch = await nextBatch();
    const { loss } = await trainer.trainStep(batch);
    tf.dispose([batch.input_BLCv, batch.target_BL]);
    recent.push(loss);
    if ((s + 1) % 50 === 0) log(`  generator step ${s + 1}: loss ${loss.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  trainer.dispose();
  const tail = recent.slice(-20);
  return { crossEntropy: tail.reduce((a, b) => a + b, 0) / tail.length };
}

function fixedScheduleBatches(dataset, scales, seed) {
  const pick = batches(seed);
  return async () => {
    const idx = pick(GENERATOR.batch);
    return {
      labels: Array.from(idx, (i) => data.labels[i]),
      input_BLCv: tf.gather(dataset.input_NLC, idx),
      target_BL: tf.gather(dataset.target_NL, idx),
      scales,
    };
  };
}

async function trainVar() {
  const tokenizerConfig = { vae: VAR_VAE, quantizer: VAR_QUANTIZER };
  const trained = await trainTokenizer(
    tok.VarTokenizerTrainer.create({ vae: VAR_VAE, patchNums: PATCH_NUMS, quantResi: 0.5, shareQuantResi: 4 }, { seed: SEED + 1, codebookInit: 'latents', optimizer: { learningRate: TOKENIZER.lr } }),
    SEED + 2,
  );
  const tokenizer = await tok.VarTokenizer.fromStateDict(await readSafetensors(trained.bytes), tokenizerConfig);
  return scaleMethod('var', tokenizer, tokenizerConfig, trained, gen.VarGenerator, { patchNums: PATCH_NUMS });
}

async function trainCart() {
  const tokenizerConfig = { vae: VAR_VAE, quantizer: VAR_QUANTIZER, order: CART_ORDER };
  const trained = await trainTokenizer(
    tok.CartTokenizerTrainer.create(
      { vae: VAR_VAE, patchNums: PATCH_NUMS, quantResi: 0.5, shareQuantResi: 4, order: CART_ORDER },
      { seed: SEED + 11, codebookInit: 'latents', optimizer: { learningRate: TOKENIZER.lr } },
    ),
    SEED + 12,
    Number(opt['cart-tokenizer-steps']),
  );
  const tokenizer = await tok.CartTokenizer.fromStateDict(await readSafetensors(trained.bytes), tokenizerConfig);
  const patchNums = tokenizer.schedule().map((s) => s.size[0]);
  return scaleMethod('cart', tokenizer, tokenizerConfig, trained, gen.VarGenerator, { patchNums });
}

async function scaleMethod(method, tokenizer, tokenizerConfig, trained, Generator, extra) {
  const reconstructionMse = await reconstructionError(tokenizer);
  log(`  ${method} tokenizer reconstruction MSE (F16, 64 images) ${reconstructionMse.toFixed(4)}`);
  const dataset = await teacherForcedDataset(tokenizer);
  const config = { ...SCALE_GENERATOR, numClasses: NUM_CLASSES, vocabSize: tokenizer.vocabSize, latentChannels: tokenizer.latentChannels, ...extra };
  const model = await Generator.init(config, new RandomGenerator(SEED + 3), { initAdaLnGamma: 1e-3 });
  const scales = tokenizer.schedule().map((s) => s.size);
  const losses = await trainScaleGenerator(model, fixedScheduleBatches(dataset, scales, SEED + 4), SEED + 5);
  tf.dispose([dataset.input_NLC, dataset.target_NL]);
  const generator = await model.stateDict();
  model.dispose();
  tokenizer.dispose();
  return { method, tokenizer: trained.raws, generator, tokenizerConfig, generatorConfig: config, losses: { tokenizer: { ...trained.losses, reconstructionMse }, generator: losses } };
}

async function trainFlexVar() {
  // The default schedule is declared at 16×16 (latent 8): FlexVarTokenizer scales it to other sizes, and only scaled
  // down does it keep the 1×1 first step every generator needs (at 8×8 it is PATCH_NUMS, at 16×16 and 8×16 it starts
  // at 1×1 too, for refineImages and extendImages).
  const tokenizerConfig = { vae: FLEX_VAE, patchNums: [...PATCH_NUMS, 6, 8] };
  const trained = await trainTokenizer(
    tok.FlexVarTokenizerTrainer.create({ vae: FLEX_VAE, vocabSize: VOCAB, scalesPerStep: 2 }, { seed: SEED + 21, codebookInit: 'latents', optimizer: { learningRate: TOKENIZER.lr } }),
    SEED + 22,
  );
  const tokenizer = await tok.FlexVarTokenizer.fromStateDict(await readSafetensors(trained.bytes), tokenizerConfig);
  const reconstructionMse = await reconstructionError(tokenizer);
  log(`  flexvar tokenizer reconstruction MSE (F16, 64 images) ${reconstructionMse.toFixed(4)}`);
  const config = { ...SCALE_GENERATOR, numClasses: NUM_CLASSES, vocabSize: tokenizer.vocabSize, latentChannels: tokenizer.latentChannels, positionSide: 8 };
  const model = await gen.FlexVarGenerator.init(config, new RandomGenerator(SEED + 23), { initAdaLnGamma: 1e-3 });
  // FlexVAR's training schedules (trainer.py gen_curr_patch_nums): 1, then a sorted random subset of the larger sides,
  // here always ending at the full latent.
  const pick = batches(SEED + 24);
  const scheduleRng = new RandomGenerator(SEED + 25);
  const nextBatch = async () => {
    const u = scheduleRng.uniformArray(2);
    const schedule = [1, ...(u[0] < 0.5 ? [2] : []), ...(u[1] < 0.5 ? [3] : []), 4];
    const idx = pick(GENERATOR.batch);
    const x = tf.gather(images, idx);
    const plan = await tokenizer.encode(x, { patchNums: schedule });
    const batch = {
      labels: Array.from(idx, (i) => data.labels[i]),
      input_BLCv: tokenizer.teacherForcing(plan),
      target_BL: tf.concat(plan.steps.map((s) => s.idx_Bl), 1),
      scales: schedule,
    };
    tf.dispose([x, plan]);
    return batch;
  };
  const losses = await trainScaleGenerator(model, nextBatch, SEED + 26);
  const generator = await model.stateDict();
  model.dispose();
  tokenizer.dispose();
  return { method: 'flexvar', tokenizer: trained.raws, generator, tokenizerConfig, generatorConfig: config, losses: { tokenizer: { ...trained.losses, reconstructionMse }, generator: losses } };
}

async function trainNvg() {
  const tokenizerConfig = { vae: NVG_VAE };
  const trained = await trainTokenizer(
    tok.NvgTokenizerTrainer.create({ vae: NVG_VAE, vocabSize: VOCAB, latentSize: [4, 4] }, { seed: SEED + 31, codebookInit: 'latents', optimizer: { learningRate: TOKENIZER.lr } }),
    SEED + 32,
  );
  const tokenizer = await tok.NvgTokenizer.fromStateDict(await readSafetensors(trained.bytes), tokenizerConfig);
  const reconstructionMse = await reconstructionError(tokenizer);
  log(`  nvg tokenizer reconstruction MSE (F16, 64 images) ${reconstructionMse.toFixed(4)}`);
  const c = NVG_GENERATOR;
  const model = await gen.NvgGenerator.init(c, new RandomGenerator(SEED + 33));

  // The whole dataset's plan: canvases before every stage, structure maps, cluster tokens and the final canvas.
  const plan = await tokenizer.encode(images);
  const input_NSPX = tokenizer.trainingInput(plan);
  const canvas_NSPC = tf.slice(input_NSPX, [0, 0, 0, 0], [-1, -1, -1, c.cvae]);
  const final_NPC = tf.tidy(() => tf.reshape(tokenizer.planToLatent(plan), [DATASET_SIZE, c.positions, c.cvae]));
  const fullBits_NPW = await tok.structureBits(plan.steps[c.stages - 1].labels_Bl, c.stages - 1, c.structureBits);
  input_NSPX.dispose();

  const trainer = new gen.NvgTrainer(model, { learningRate: NVG_TRAINING.lr });
  const pick = batches(SEED + 34);
  const rng = new RandomGenerator(SEED + 35);
  const canvasAt = (idx, s) => tf.tidy(() => tf.reshape(tf.slice(tf.gather(canvas_NSPC, idx), [0, s, 0, 0], [-1, 1, -1, -1]), [idx.length, c.positions, c.cvae]));
  const recent = { content: [], structure: [] };
  const t0 = performance.now();
  const steps = NVG_TRAINING.steps;
  for (let step = 0; step < steps; step++) {
    const idx = pick(GENERATOR.batch);
    const classes = gen.dropConditions(Array.from(idx, (i) => data.labels[i]), NUM_CLASSES, GENERATOR.conditionDropout, rng);
    const classLabels_B = tf.tensor1d(Int32Array.from(classes), 'int32');
    // Content: every stage in turn.
    const s = step % c.stages;
    const idx_t = tf.tensor1d(idx, 'int32');
    const labels_BP = tf.gather(plan.steps[s].labels_Bl, idx_t);
    const bits_BPW = await tok.structureBits(labels_BP, s, c.structureBits);
    const rope = await model.contentRope(bits_BPW);
    const content = {
      canvas_BPC: canvasAt(idx, s),
      labels_BP,
      classLabels_B,
      stage: s,
      rope,
      target_BPC: tf.gather(final_NPC, idx_t),
      clusterTokens_BK: tf.gather(plan.steps[s].idx_Bl, idx_t),
    };
    const contentLoss = await trainer.contentStep(content);
    tf.dispose([content.canvas_BPC, labels_BP, bits_BPW, rope.cos_B1TF, rope.sin_B1TF, content.target_BPC, content.clusterTokens_BK]);
    // Structure: the code of the next stages given the canvas after stage r.
    const r = step % c.structureStages;
    const labelsR_BP = tf.gather(plan.steps[r].labels_Bl, idx_t);
    const bitsR_BPW = await tok.structureBits(labelsR_BP, r, c.structureBits);
    const ropeR = await model.structureRope(bitsR_BPW);
    const structure = {
      canvas_BPC: canvasAt(idx, r + 1),
      bits_BPW: bitsR_BPW,
      targetBits_BPW: tf.gather(fullBits_NPW, idx_t),
      classLabels_B,
      stage: r,
      noise_BPW: rng.normal([idx.length, c.positions, c.structureBits]),
      t: await gen.logitNormalTimes(rng, idx.length),
      rope: ropeR,
    };
    const structureLoss = await trainer.structureStep(structure);
    tf.dispose([labelsR_BP, bitsR_BPW, ropeR.cos_B1TF, ropeR.sin_B1TF, structure.canvas_BPC, structure.targetBits_BPW, structure.noise_BPW, classLabels_B, idx_t]);
    recent.content.push(contentLoss);
    recent.structure.push(structureLoss);
    if ((step + 1) % 50 === 0) {
      log(`  nvg step ${step + 1}: content ${contentLoss.loss.toFixed(4)} (mse ${contentLoss.mse.toFixed(4)}, ce ${contentLoss.ce.toFixed(4)}) structure ${structureLoss.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  trainer.dispose();
  tf.dispose([plan, canvas_NSPC, final_NPC, fullBits_NPW]);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const tail = (xs) => xs.slice(-4 * c.stages);
  const losses = {
    contentMse: mean(tail(recent.content).map((l) => l.mse)),
    contentCrossEntropy: mean(tail(recent.content).map((l) => l.ce)),
    structure: mean(tail(recent.structure)),
  };
  const generator = await model.stateDict();
  model.dispose();
  tokenizer.dispose();
  return { method: 'nvg', tokenizer: trained.raws, generator, tokenizerConfig, generatorConfig: c, losses: { tokenizer: { ...trained.losses, reconstructionMse }, generator: losses } };
}

const TRAIN = { var: trainVar, cart: trainCart, flexvar: trainFlexVar, nvg: trainNvg };
for (const method of opt.methods.split(',')) {
  if (!TRAIN[method]) throw new Error(`unknown method ${method}; expected one of ${Object.keys(TRAIN).join(', ')}`);
  const t0 = performance.now();
  log(`${method} on ${tf.getBackend()}`);
  const result = await TRAIN[method]();
  const wallSeconds = (performance.now() - t0) / 1000;
  const tensors = {};
  for (const [name, raw] of Object.entries(result.tokenizer)) tensors[`tokenizer.${name}`] = raw;
  for (const [name, raw] of Object.entries(toHalf(result.generator))) tensors[`generator.${name}`] = raw;
  // The layout and metadata of a pipeline file (samplers' writePipeline), written here directly to keep F16 weights.
  const training = {
    dataset: { module: 'test/trained/shapesDataset.ts', seed: SEED, size: DATASET_SIZE, classes: SHAPE_CLASSES },
    training: { backend: tf.getBackend(), tokenizer: method === 'cart' ? { ...TOKENIZER, steps: Number(opt['cart-tokenizer-steps']) } : TOKENIZER, generator: method === 'nvg' ? { ...GENERATOR, ...NVG_TRAINING } : GENERATOR, seed: SEED },
    losses: result.losses,
    wallSeconds: Math.round(wallSeconds),
  };
  const metadata = {
    format: 'pt',
    kind: 'nextdetail-pipeline',
    method,
    tokenizer_config: JSON.stringify(result.tokenizerConfig),
    generator_config: JSON.stringify(result.generatorConfig),
    info: JSON.stringify({ classNames: SHAPE_CLASSES, imageSize: SHAPE_IMAGE_SIZE, training }),
  };
  const bytes = await writeSafetensors(tensors, metadata);
  const path = `${opt.out.replace(/\/?$/, '/')}${method}.safetensors`;
  await writeFile(path, bytes);
  console.log(JSON.stringify({ method, path, bytes: bytes.length, wallSeconds: Math.round(wallSeconds), losses: result.losses }));
}
images.dispose();
