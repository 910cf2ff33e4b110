import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromTorchLayout, InvalidArgumentError, ShapeError, type TensorSource, ValueRangeError } from '@nextdetail/core';
import { readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import { NvgTokenizer } from '../src/nvgTokenizer.js';
import type { GranularityStep, TokenPlan } from '../src/tokenizer.js';
import type { NvgAutoencoderConfig } from '../src/vqvae/nvgAutoencoderConfig.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';
import { expectPreviews, maxAbsDiff, normals, nvgTokenizerSource, thrown, tinyNvgQuantizerSource } from './helpers.js';

/** The transformer inputs of every stage after the first, from nextInput on the plan's prefixes. */
function nextInputs(tokenizer: NvgTokenizer, plan: TokenPlan): tf.Tensor3D[] {
  return plan.steps.slice(1).map((step, k) => tokenizer.nextInput({ steps: plan.steps.slice(0, k + 1) }, step.size));
}

const STAGES = 5;
const QUANTIZER = tinyNvgQuantizerSource(STAGES);
const VAE: NvgAutoencoderConfig = { ch: 32, chMult: [1, 1], numResBlocks: 1, embedDim: 4 };

function images(b: number, h: number, w: number): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from({ length: b * h * w * 3 }, (_, i) => Math.sin(0.37 * i) * Math.cos(0.05 * i)), [b, h, w, 3]);
}

/** Every stage's structure map of a plan, int32 [B, S, P]. */
function labelsOf(plan: TokenPlan): tf.Tensor3D {
  return tf.stack(plan.steps.map((s) => (s as GranularityStep).labels_Bl), 1) as tf.Tensor3D;
}

describe(`NvgTokenizer on a tiny random-weight autoencoder [${backendName()}]`, () => {
  let tokenizer: NvgTokenizer;
  let img_BHWC: tf.Tensor4D;
  beforeAll(async () => {
    tokenizer = await NvgTokenizer.fromStateDict(nvgTokenizerSource(VAE, QUANTIZER), { vae: VAE });
    img_BHWC = images(2, 8, 8);
  });
  afterAll(() => {
    tokenizer?.dispose();
    img_BHWC?.dispose();
  });

  it('describes its stages: 2^s clusters on the latent grid', async () => {
    expect([tokenizer.family, tokenizer.vocabSize, tokenizer.latentChannels, tokenizer.downsampleFactor, tokenizer.stages]).toEqual([
      'nvg', 16, 4, 2, 5,
    ]);
    expect(tokenizer.imageSize).toEqual([8, 8]);
    expect(tokenizer.schedule()).toEqual([1, 2, 4, 8, 16].map((tokens) => ({ kind: 'granularity', size: [4, 4], tokens })));
    expect(tokenizer.schedule([8, 12]).map((s) => s.size)).toEqual(Array(5).fill([4, 6]));
    expect(((await thrown(() => tokenizer.schedule([4, 4]))) as InvalidArgumentError).argument).toBe('imageSize');
  });

  it('round-trips: one token per cluster, clusters split in two per stage, decode is the clamped decoder of Σ Phi_s(E[tokens]), teacherForcing the canvases of the nextInput steps, leak-free', async () => {
    await expectNoLeaks(async () => {
      const plan = await tokenizer.encode(img_BHWC);
      const steps = plan.steps as GranularityStep[];
      expect(steps.map((s) => [s.kind, s.size, s.clusters, s.idx_Bl.shape, s.labels_Bl.shape])).toEqual(
        [1, 2, 4, 8, 16].map((k) => ['granularity', [4, 4], k, [2, k], [2, 16]]),
      );
      // Equal-size clusters, each the parent ⌊l/2⌋ of the next stage's labels.
      const labels = await Promise.all(steps.map(async (s) => Array.from(await s.labels_Bl.data())));
      for (let s = 0; s < STAGES; s++) {
        const counts = new Map<number, number>();
        labels[s]!.slice(0, 16).forEach((l) => counts.set(l, (counts.get(l) ?? 0) + 1));
        expect([...counts.values()]).toEqual(Array(2 ** s).fill(16 / 2 ** s));
        if (s > 0) expect(labels[s]!.map((l) => Math.floor(l / 2))).toEqual(labels[s - 1]);
      }
      // Every position's token (NVG's training tensor) is its cluster's.
      const training = tokenizer.trainingInput(plan);
      expect(training.shape).toEqual([2, STAGES, 16, 6]);
      const rows = (await training.array()) as number[][][][];
      for (let s = 0; s < STAGES; s++) {
        const clusterIds = Array.from(await steps[s]!.idx_Bl.data());
        for (let b = 0; b < 2; b++)
          for (let p = 0; p < 16; p++) {
            const label = labels[s]![b * 16 + p]!;
            expect([rows[b]![s]![p]![4], rows[b]![s]![p]![5]]).toEqual([clusterIds[b * 2 ** s + label], label]);
          }
      }
      const image = tokenizer.decode(plan);
      const fhat = tokenizer.planToLatent(plan);
      const direct = tokenizer.vae.decode(fhat);
      expect(image.shape).toEqual([2, 8, 8, 3]);
      expect(await maxAbsDiff(image, direct)).toBe(0);
      const input = tokenizer.teacherForcing(plan);
      const stepsIn = nextInputs(tokenizer, plan);
      const stepped = tf.concat(stepsIn, 1);
      expect(input.shape).toEqual([2, (STAGES - 1) * 16, 4]);
      expect(await maxAbsDiff(input, stepped)).toBe(0);
      // The canvas after the last stage would be f̂; the last input is f̂ less the last stage's term, so it differs.
      const fhat_BPC = tf.reshape(fhat, [2, 16, 4]);
      expect(await maxAbsDiff(stepsIn[STAGES - 2]!, fhat_BPC)).toBeGreaterThan(0);
      tf.dispose([plan, training, image, fhat, direct, input, stepsIn, stepped, fhat_BPC]);
    });
  });

  it('encodes with a user-supplied structure map, also on a latent that clustering cannot take, leak-free', async () => {
    const plan = await tokenizer.encode(img_BHWC);
    const labels_BSP = labelsOf(plan);
    const wide = images(1, 8, 12);
    await expectNoLeaks(async () => {
      const again = await tokenizer.encode(img_BHWC, { labels_BSP });
      for (const [s, step] of again.steps.entries()) {
        expect(Array.from(await step.idx_Bl.data())).toEqual(Array.from(await plan.steps[s]!.idx_Bl.data()));
      }
      // 4×6 = 24 positions: halves of the row-major order, quarters, … (every label a parent of the next).
      const map = tf.tensor3d(
        [Array.from({ length: STAGES }, (_, s) => Array.from({ length: 24 }, (_, p) => Math.floor((p * 2 ** s) / 24)))],
        [1, STAGES, 24],
        'int32',
      );
      const widePlan = await tokenizer.encode(wide, { labels_BSP: map });
      expect(widePlan.steps.map((s) => s.size)).toEqual(Array(STAGES).fill([4, 6]));
      const image = tokenizer.decode(widePlan);
      expect(image.shape).toEqual([1, 8, 12, 3]);
      const e1 = await thrown(() => tokenizer.encode(wide));
      expect(e1).toBeInstanceOf(ShapeError);
      const bad = tf.tensor3d(Array.from({ length: STAGES * 24 }, (_, k) => (k % 24 === 0 && k > 0 ? 3 : 0)), [1, STAGES, 24], 'int32');
      const e2 = await thrown(() => tokenizer.encode(wide, { labels_BSP: bad }));
      expect(e2).toBeInstanceOf(ValueRangeError);
      tf.dispose([again, map, widePlan, image, bad]);
    });
    tf.dispose([plan, labels_BSP, wide]);
  });

  it('rejects bad plans and next sizes with typed errors, leak-free', async () => {
    const plan = await tokenizer.encode(img_BHWC);
    await expectNoLeaks(async () => {
      const e1 = await thrown(() => tokenizer.decode({ steps: plan.steps.slice(0, 4) }));
      expect((e1 as InvalidArgumentError).argument).toBe('plan.steps');
      const e2 = await thrown(() => tokenizer.teacherForcing({ steps: [plan.steps[1]!, ...plan.steps.slice(1)] }));
      expect((e2 as InvalidArgumentError).argument).toBe('plan.steps[0]');
      const e3 = await thrown(() => tokenizer.nextInput({ steps: plan.steps.slice(0, 2) }, [2, 8]));
      expect((e3 as InvalidArgumentError).argument).toBe('nextSize');
      const e4 = await thrown(() => tokenizer.nextInput(plan, [4, 4]));
      expect((e4 as InvalidArgumentError).argument).toBe('plan.steps');
      const odd = images(1, 8, 7);
      const e6 = await thrown(() => tokenizer.encode(odd));
      expect([e6 instanceof ShapeError, (e6 as ShapeError).argument]).toEqual([true, 'images_BHWC']);
      odd.dispose();
      const noLabels = { steps: [{ ...(plan.steps[0] as GranularityStep), labels_Bl: plan.steps[1]!.idx_Bl }] };
      const e5 = await thrown(() => tokenizer.nextInput(noLabels, [4, 4]));
      expect((e5 as ShapeError).argument).toBe('plan.steps[0].labels_Bl');
    });
    tf.dispose(plan);
  });

  it('previews every prefix of a plan as the canvas so far (the complete one is the decoded image)', () => expectPreviews(tokenizer, img_BHWC));

  it('builds the plan of per-position tokens and structure maps (what the generation loop yields), leak-free', async () => {
    const f_BHWC = tokenizer.vae.encode(img_BHWC);
    const encoding = await tokenizer.quantizer.encode(f_BHWC);
    const reference = await tokenizer.encodeLatent(f_BHWC);
    const size: [number, number] = [f_BHWC.shape[1], f_BHWC.shape[2]];
    const before = tf.memory().numTensors;
    const again = tokenizer.planFromPositions(encoding.tokens_BSP, encoding.labels_BSP, size);
    expect(tf.memory().numTensors - before, 'only the plan (ids and structure map per stage)').toBe(2 * again.steps.length);
    for (const [s, step] of again.steps.entries()) {
      const want = reference.steps[s] as GranularityStep;
      const got = step as GranularityStep;
      expect([got.kind, got.size, got.clusters]).toEqual([want.kind, want.size, want.clusters]);
      expect(Array.from(await got.idx_Bl.data())).toEqual(Array.from(await want.idx_Bl.data()));
      expect(Array.from(await got.labels_Bl.data())).toEqual(Array.from(await want.labels_Bl.data()));
    }
    const e = await thrown(() => tokenizer.planFromPositions(encoding.tokens_BSP, encoding.labels_BSP, [size[0], size[1] + 1]));
    expect((e as ShapeError).argument).toBe('tokens_BSP');
    tf.dispose([f_BHWC, encoding, reference, again]);
  });
});

const fixtures: SafetensorsFile[] = [];
for (const path of listFixtures('reference', '.safetensors')) {
  const file = await readSafetensorsFile(path);
  if (file.metadata.kind === 'nvg') fixtures.push(file);
  else await file.close();
}

describe(`NvgTokenizer's quantizer path vs the NVG reference fixtures [${backendName()}]`, () => {
  it('finds nvg fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  afterAll(() => Promise.all(fixtures.map((f) => f.close())));

  for (const file of fixtures) {
    const name = basename(file.name);
    it(`${name}: encodeLatent(in.f), clustered or with out.labels, gives out.nvg_input (canvases, tokens, labels) and out.fhat_from_tokens; teacherForcing and the nextInput steps are its canvases after stage 0; leak-free`, async () => {
      const [, c] = file.info('quantize.embedding.weight').shape as [number, number];
      const vae: NvgAutoencoderConfig = { ch: 32, chMult: [1, 1], numResBlocks: 1, embedDim: c };
      const tokenizer = await NvgTokenizer.fromStateDict(nvgTokenizerSource(vae, file), { vae });
      const f = await file.tensor('in.f');
      const f_BHWC = fromTorchLayout(f, 'nchw', 'in.f') as tf.Tensor4D;
      f.dispose();
      const [b, h, w] = f_BHWC.shape;
      const S = tokenizer.stages;
      await expectNoLeaks(async () => {
        const want = await file.tensor('out.nvg_input');
        const wantLabels = (await file.tensor('out.labels')) as tf.Tensor3D;
        const fromTokens = await file.tensor('out.fhat_from_tokens');
        const wantFhat = fromTorchLayout(fromTokens, 'nchw', 'out.fhat_from_tokens');
        const wantCanvases = tf.tidy(() => tf.reshape(tf.slice(want, [0, 1, 0, 0], [b, S - 1, h * w, c]), [b, (S - 1) * h * w, c]));
        for (const labels_BSP of [undefined, wantLabels]) {
          const plan = await tokenizer.encodeLatent(f_BHWC, labels_BSP ? { labels_BSP } : {});
          const training = tokenizer.trainingInput(plan);
          const errTraining = await maxAbsDiff(training, want);
          const fhat = tokenizer.planToLatent(plan);
          const errFhat = await maxAbsDiff(fhat, wantFhat);
          const input = tokenizer.teacherForcing(plan);
          const steps = nextInputs(tokenizer, plan);
          const stepped = tf.concat(steps, 1);
          const errInput = await maxAbsDiff(input, wantCanvases);
          console.log(`[${backendName()}] ${name} (${labels_BSP ? 'given' : 'clustered'} labels): nvg_input ${errTraining}, fhat ${errFhat}, teacherForcing ${errInput}`);
          // Ids and labels are integers in the same tensor: an error below 1e-4 means every one of them matches.
          expect(errTraining).toBeLessThan(1e-4);
          expect(errFhat).toBeLessThan(1e-4);
          expect(errInput).toBeLessThan(1e-4);
          expect(await maxAbsDiff(stepped, input)).toBe(0);
          tf.dispose([plan, training, fhat, input, steps, stepped]);
        }
        tf.dispose([want, wantLabels, fromTokens, wantFhat, wantCanvases]);
      });
      f_BHWC.dispose();
      tokenizer.dispose();
    });
  }
});
