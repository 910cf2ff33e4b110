import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromTorchLayout, InvalidArgumentError, ShapeError, type TensorSource } from '@nextdetail/core';
import { readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import { FlexVarTokenizer } from '../src/flexVarTokenizer.js';
import type { GridStep, TokenPlan } from '../src/tokenizer.js';
import { FlexVae } from '../src/vqvae/flexVae.js';
import type { FlexVaeConfig } from '../src/vqvae/flexVaeConfig.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';
import { expectPreviews, maxAbsDiff, normals, syntheticSource, thrown } from './helpers.js';

/** The transformer inputs of every step after the first, from nextInput on the plan's prefixes. */
function nextInputs(tokenizer: FlexVarTokenizer, plan: TokenPlan): tf.Tensor3D[] {
  return plan.steps.slice(1).map((step, k) => tokenizer.nextInput({ steps: plan.steps.slice(0, k + 1) }, step.size));
}

/** A checkpoint with the CNN of `vae` (smooth synthetic weights) and `codebook`'s `quantize.embedding.weight`. */
function withCodebook(vae: FlexVaeConfig, codebook: TensorSource, prefix = ''): TensorSource {
  const shapes = Object.fromEntries(Object.entries(FlexVae.stateDictSpec(vae)).map(([k, p]) => [prefix + k, [...p.shape]]));
  const cnn = syntheticSource(shapes, 0.1);
  const key = `${prefix}quantize.embedding.weight`;
  return {
    keys: () => [...cnn.keys(), key],
    info: (name) => (name === key ? codebook.info('quantize.embedding.weight') : cnn.info(name)),
    tensor: (name) => (name === key ? codebook.tensor('quantize.embedding.weight') : cnn.tensor(name)),
  };
}

/** Two levels (factor 2), one block per level, a 4-wide codebook of 16 N(0, 1) rows. */
const VAE: FlexVaeConfig = { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 8, codebookEmbedDim: 4 };
const CODEBOOK: TensorSource = {
  keys: () => ['quantize.embedding.weight'],
  info: () => ({ dtype: 'F32', shape: [16, 4] }),
  tensor: async () => tf.tensor2d(normals(64, 9), [16, 4]),
};

function images(b: number, h: number, w: number): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from({ length: b * h * w * 3 }, (_, i) => Math.sin(0.37 * i) * Math.cos(0.05 * i)), [b, h, w, 3]);
}

describe(`FlexVarTokenizer on a tiny random-weight VQ-16 [${backendName()}]`, () => {
  let tokenizer: FlexVarTokenizer;
  beforeAll(async () => {
    tokenizer = await FlexVarTokenizer.fromStateDict(withCodebook(VAE, CODEBOOK, 'model.'), { vae: VAE, patchNums: [1, 2, 3, 4] });
  });
  afterAll(() => tokenizer?.dispose());

  it('describes its default schedule and rescales it to other image sizes', async () => {
    expect([tokenizer.family, tokenizer.vocabSize, tokenizer.latentChannels, tokenizer.downsampleFactor]).toEqual(['flexvar', 16, 4, 2]);
    expect(tokenizer.imageSize).toEqual([8, 8]);
    expect(tokenizer.schedule().map((s) => s.size)).toEqual([[1, 1], [2, 2], [3, 3], [4, 4]]);
    expect(tokenizer.schedule([16, 8]).map((s) => s.size)).toEqual([[1, 1], [4, 2], [6, 3], [8, 4]]);
    expect(tokenizer.schedule([4, 4]).map((s) => [s.kind, s.size, s.tokens])).toEqual([
      ['scale', [1, 1], 1],
      ['scale', [2, 2], 4],
    ]);
    const err = await thrown(() => tokenizer.schedule([9, 8]));
    expect((err as InvalidArgumentError).argument).toBe('imageSize');
  });

  it('round-trips with any (h, w) schedule: decode is the last scale through the decoder (no clamp), decodeStep any scale, teacherForcing the nextInput steps, leak-free', async () => {
    const img = images(2, 8, 12);
    await expectNoLeaks(async () => {
      const schedule: [number, number][] = [[1, 1], [1, 2], [3, 2], [2, 5], [4, 6]];
      const plan = await tokenizer.encode(img, { patchNums: schedule });
      expect(plan.steps.map((s) => [s.kind, s.size, s.idx_Bl.shape])).toEqual(schedule.map((size) => ['scale', size, [2, size[0] * size[1]]]));
      const image = tokenizer.decode(plan);
      expect(image.shape).toEqual([2, 8, 12, 3]);
      const latent = tokenizer.planToLatent(plan);
      const direct = tokenizer.vae.decode(latent);
      expect(await maxAbsDiff(image, direct)).toBe(0);
      const coarse = tokenizer.decodeStep(plan.steps[3] as GridStep);
      expect(coarse.shape).toEqual([2, 4, 10, 3]);
      const input = tokenizer.teacherForcing(plan);
      const steps = nextInputs(tokenizer, plan);
      const stepped = tf.concat(steps, 1);
      expect(input.shape).toEqual([2, 2 + 6 + 10 + 24, 4]);
      expect(await maxAbsDiff(input, stepped)).toBe(0);
      // The inputs are unit vectors' mixtures: the next map of a 1×1 scale is its code at every position.
      const want = tf.tidy(() => {
        const code = tf.gather(tokenizer.quantizer.codebook_VC, tf.reshape(plan.steps[0]!.idx_Bl, [2]));
        return tf.tile(tf.expandDims(code, 1), [1, 2, 1]);
      });
      expect(await maxAbsDiff(steps[0]!, want)).toBeLessThan(1e-6);
      // The default schedule for 8×12 images ends at the 4×6 latent.
      const byDefault = await tokenizer.encode(img);
      expect(byDefault.steps.map((s) => s.size)).toEqual(tokenizer.schedule([8, 12]).map((s) => s.size));
      tf.dispose([plan, image, latent, direct, coarse, input, steps, stepped, want, byDefault]);
    });
    img.dispose();
  });

  it('rejects bad plans, steps and sizes with typed errors, leak-free', async () => {
    const img = images(1, 8, 8);
    const plan = await tokenizer.encode(img);
    await expectNoLeaks(async () => {
      const e1 = await thrown(() => tokenizer.teacherForcing({ steps: plan.steps.slice(0, 1) }));
      expect((e1 as InvalidArgumentError).argument).toBe('plan.steps');
      const e2 = await thrown(() => tokenizer.decode({ steps: [{ ...plan.steps[1]!, size: [2, 3] }] }));
      expect(e2).toBeInstanceOf(ShapeError);
      expect((e2 as ShapeError).argument).toBe('plan.steps[0].idx_Bl');
      const e3 = await thrown(() => tokenizer.decodeStep({ ...(plan.steps[0] as GridStep), kind: 'detail' }));
      expect((e3 as InvalidArgumentError).argument).toBe('step');
      const e4 = await thrown(() => tokenizer.nextInput(plan, [0, 3]));
      expect((e4 as InvalidArgumentError).argument).toBe('nextSize');
      const odd = images(1, 7, 8);
      const e6 = await thrown(() => tokenizer.encode(odd));
      expect([e6 instanceof ShapeError, (e6 as ShapeError).argument]).toEqual([true, 'images_BHWC']);
      odd.dispose();
      const e5 = await thrown(() => FlexVarTokenizer.fromStateDict(withCodebook(VAE, CODEBOOK), { vae: { ...VAE, codebookEmbedDim: 8 } }));
      expect(e5).toBeInstanceOf(ShapeError);
    });
    tf.dispose([plan, img]);
  });

  it('previews every prefix of a plan as its last scale (the complete one is the decoded image)', async () => {
    const img = images(2, 8, 8);
    await expectPreviews(tokenizer, img);
    img.dispose();
  });
});

const fixtures: SafetensorsFile[] = [];
for (const path of listFixtures('reference', '.safetensors')) {
  const file = await readSafetensorsFile(path);
  if (file.metadata.kind === 'flexvar') fixtures.push(file);
  else await file.close();
}

// The GT encoding has a near-tie at float32 resolution (fixtures README "Fragile spots"): one flipped id is allowed.
const MAX_ID_MISMATCHES = 1;

describe(`FlexVarTokenizer's quantizer path vs the FlexVAR reference fixtures [${backendName()}]`, () => {
  it('finds flexvar fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  afterAll(() => Promise.all(fixtures.map((f) => f.close())));

  for (const file of fixtures) {
    const name = basename(file.name);
    it(`${name}: encodeLatent(in.h) gives out.gt_idx (≤ ${MAX_ID_MISMATCHES} near-tie flip); the plan of out.gt_idx gives out.x_BLCv_wo_first_l by teacherForcing and by nextInput steps, leak-free`, async () => {
      const pns = (JSON.parse(file.metadata.spec_json ?? '{}') as { train_patch_nums: number[] }).train_patch_nums;
      const [, cv] = file.info('quantize.embedding.weight').shape as [number, number];
      const vae: FlexVaeConfig = { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 8, codebookEmbedDim: cv };
      const tokenizer = await FlexVarTokenizer.fromStateDict(withCodebook(vae, file), { vae, patchNums: pns });
      const h = await file.tensor('in.h');
      const h_BHWC = fromTorchLayout(h, 'nchw', 'in.h') as tf.Tensor4D;
      h.dispose();
      await expectNoLeaks(async () => {
        const plan = tokenizer.encodeLatent(h_BHWC, { patchNums: pns });
        expect(plan.steps.map((s) => s.size)).toEqual(pns.map((pn) => [pn, pn]));
        const idx_BL = tf.concat(plan.steps.map((s) => s.idx_Bl), 1);
        const got = Array.from(await idx_BL.data());
        const want = Array.from((await file.rawTensor('out.gt_idx')).data as BigInt64Array, Number);
        expect(got).toHaveLength(want.length);
        expect(got.filter((id, k) => id !== want[k]).length).toBeLessThanOrEqual(MAX_ID_MISMATCHES);

        const gt_BL = (await file.tensor('out.gt_idx')) as tf.Tensor2D;
        const gtIdx = tf.split(gt_BL, pns.map((pn) => pn * pn), 1) as tf.Tensor2D[];
        const gtPlan: TokenPlan = { steps: gtIdx.map((idx_Bl, si) => ({ kind: 'scale', size: [pns[si]!, pns[si]!], idx_Bl })) };
        const wantInput = await file.tensor('out.x_BLCv_wo_first_l');
        const input = tokenizer.teacherForcing(gtPlan);
        const steps = nextInputs(tokenizer, gtPlan);
        const stepped = tf.concat(steps, 1);
        const [e1, e2] = [await maxAbsDiff(input, wantInput), await maxAbsDiff(stepped, wantInput)];
        console.log(`[${backendName()}] ${name} FlexVarTokenizer teacherForcing ${e1}, nextInput steps ${e2}`);
        expect(e1).toBeLessThan(1e-4);
        expect(e2).toBeLessThan(1e-4);
        tf.dispose([plan, idx_BL, gt_BL, gtIdx, wantInput, input, steps, stepped]);
      });
      h_BHWC.dispose();
      tokenizer.dispose();
    });
  }
});
