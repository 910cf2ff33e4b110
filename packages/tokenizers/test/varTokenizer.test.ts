import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError } from '@nextdetail/core';
import { readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import { VarTokenizer, varTokenizerConfigFromReference } from '../src/varTokenizer.js';
import type { TokenPlan } from '../src/tokenizer.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';
import { expectPreviews, maxAbsDiff, readNhwc, thrown, TINY_VAR_TOKENIZER, tinyVarTokenizerSource } from './helpers.js';

const fixtures: SafetensorsFile[] = [];
for (const path of listFixtures('reference', '.safetensors')) {
  const file = await readSafetensorsFile(path);
  if (file.metadata.kind === 'var_vqvae') fixtures.push(file);
  else await file.close();
}

/** The transformer inputs of every step after the first, from nextInput on the plan's prefixes. */
function nextInputs(tokenizer: VarTokenizer, plan: TokenPlan): tf.Tensor3D[] {
  return plan.steps.slice(1).map((step, k) => tokenizer.nextInput({ steps: plan.steps.slice(0, k + 1) }, step.size));
}

describe(`VarTokenizer (Tokenizer interface) end to end vs reference fixtures [${backendName()}]`, () => {
  it('finds var_vqvae fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  afterAll(() => Promise.all(fixtures.map((f) => f.close())));

  for (const file of fixtures) {
    const name = basename(file.name);
    describe(name, () => {
      let tokenizer: VarTokenizer;
      let img_BHWC: tf.Tensor4D;
      beforeAll(async () => {
        const { VQVAE } = JSON.parse(file.metadata.config_json ?? '{}') as { VQVAE: Record<string, unknown> };
        tokenizer = await VarTokenizer.fromStateDict(file, varTokenizerConfigFromReference(VQVAE));
        img_BHWC = await readNhwc(file, 'in.img');
      });
      afterAll(() => {
        tokenizer?.dispose();
        img_BHWC?.dispose();
      });

      it(`${name}: encode gives the reference token ids per scale, decode the reference image, teacherForcing and every nextInput the reference var_input, leak-free`, async () => {
        await expectNoLeaks(async () => {
          const plan: TokenPlan = await tokenizer.encode(img_BHWC);
          const scaleKeys = file.keys().filter((k) => /^out\.idx\.\d+$/.test(k));
          expect(plan.steps).toHaveLength(scaleKeys.length);
          expect(tokenizer.schedule().map((s) => s.tokens)).toEqual(scaleKeys.map((_, si) => file.info(`out.idx.${si}`).shape[1]));
          expect(tokenizer.imageSize).toEqual([img_BHWC.shape[1], img_BHWC.shape[2]]);
          for (const [si, step] of plan.steps.entries()) {
            const want = await file.rawTensor(`out.idx.${si}`);
            expect(step.kind).toBe('scale');
            expect(step.size[0] * step.size[1]).toBe(want.shape[1]);
            expect(Array.from(await step.idx_Bl.data())).toEqual(Array.from(want.data as BigInt64Array, Number));
          }
          const image = tokenizer.decode(plan);
          const wantImage = await readNhwc(file, 'out.img_clamped');
          expect(await maxAbsDiff(image, wantImage)).toBeLessThan(5e-4);
          const input = tokenizer.teacherForcing(plan);
          const wantInput = await file.tensor('out.var_input');
          expect(await maxAbsDiff(input, wantInput)).toBeLessThan(1e-4);
          const steps = nextInputs(tokenizer, plan);
          const stepped = tf.concat(steps, 1);
          expect(await maxAbsDiff(stepped, wantInput)).toBeLessThan(1e-4);
          tf.dispose([plan, image, wantImage, input, wantInput, steps, stepped]);
        });
      });
    });
  }
});

function images(b: number, h: number, w: number): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from({ length: b * h * w * 3 }, (_, i) => Math.sin(0.37 * i) * Math.cos(0.05 * i)), [b, h, w, 3]);
}

describe(`VarTokenizer on a tiny random-weight VQVAE [${backendName()}]`, () => {
  let tokenizer: VarTokenizer;
  let img_BHWC: tf.Tensor4D;
  beforeAll(async () => {
    tokenizer = await VarTokenizer.fromStateDict(tinyVarTokenizerSource(), TINY_VAR_TOKENIZER);
    img_BHWC = images(2, 8, 8);
  });
  afterAll(() => {
    tokenizer?.dispose();
    img_BHWC?.dispose();
  });

  it('describes its schedule, vocabulary and latent', async () => {
    expect(tokenizer.family).toBe('var');
    expect([tokenizer.vocabSize, tokenizer.latentChannels, tokenizer.downsampleFactor]).toEqual([16, 4, 2]);
    expect(tokenizer.imageSize).toEqual([8, 8]);
    expect(tokenizer.schedule()).toEqual([
      { kind: 'scale', size: [1, 1], tokens: 1 },
      { kind: 'scale', size: [2, 2], tokens: 4 },
      { kind: 'scale', size: [3, 2], tokens: 6 },
      { kind: 'scale', size: [4, 4], tokens: 16 },
    ]);
    expect(await thrown(() => tokenizer.schedule([16, 16]))).toBeInstanceOf(InvalidArgumentError);
  });

  it('round-trips: encode follows the schedule, decode is the clamped decoder of planToLatent, teacherForcing is the nextInput steps, leak-free', async () => {
    await expectNoLeaks(async () => {
      const plan = await tokenizer.encode(img_BHWC);
      expect(plan.steps.map((s) => [s.kind, s.size, s.idx_Bl.shape])).toEqual(
        tokenizer.schedule().map((s) => [s.kind, s.size, [2, s.tokens]]),
      );
      const ids = await Promise.all(plan.steps.map(async (s) => Array.from(await s.idx_Bl.data())));
      expect(ids.flat().every((id) => Number.isInteger(id) && id >= 0 && id < 16)).toBe(true);
      const image = tokenizer.decode(plan);
      const fhat = tokenizer.planToLatent(plan);
      const direct = tokenizer.vae.fhatToImage(fhat);
      expect(image.shape).toEqual([2, 8, 8, 3]);
      expect(await maxAbsDiff(image, direct)).toBe(0);
      const tf1 = tokenizer.teacherForcing(plan);
      const steps = nextInputs(tokenizer, plan);
      expect(steps.map((s) => s.shape)).toEqual([[2, 4, 4], [2, 6, 4], [2, 16, 4]]);
      const stepped = tf.concat(steps, 1);
      expect(await maxAbsDiff(tf1, stepped)).toBe(0);
      tf.dispose([plan, image, fhat, direct, tf1, steps, stepped]);
    });
  });

  it('rejects bad images, plans and next sizes with typed errors naming the argument, leak-free', async () => {
    const plan = await tokenizer.encode(img_BHWC);
    const wrongSize = images(1, 16, 16);
    await expectNoLeaks(async () => {
      const e1 = await thrown(() => tokenizer.encode(wrongSize));
      expect(e1).toBeInstanceOf(ShapeError);
      expect((e1 as ShapeError).argument).toBe('images_BHWC');
      const e2 = await thrown(() => tokenizer.decode({ steps: plan.steps.slice(0, 3) }));
      expect((e2 as InvalidArgumentError).argument).toBe('plan.steps');
      const swapped = { steps: [plan.steps[1]!, plan.steps[0]!, ...plan.steps.slice(2)] };
      const e3 = await thrown(() => tokenizer.teacherForcing(swapped));
      expect((e3 as InvalidArgumentError).argument).toBe('plan.steps[0]');
      const e4 = await thrown(() => tokenizer.nextInput(plan, [4, 4]));
      expect((e4 as InvalidArgumentError).argument).toBe('plan.steps');
      const e5 = await thrown(() => tokenizer.nextInput({ steps: plan.steps.slice(0, 2) }, [2, 2]));
      expect((e5 as InvalidArgumentError).argument).toBe('nextSize');
      const floatIds = { steps: [{ ...plan.steps[0]!, idx_Bl: tf.zeros([2, 1]) as tf.Tensor2D }] };
      const e6 = await thrown(() => tokenizer.nextInput(floatIds, [2, 2]));
      expect((e6 as InvalidArgumentError).code).toBe('ERR_DTYPE');
      floatIds.steps[0]!.idx_Bl.dispose();
    });
    tf.dispose([plan, wrongSize]);
  });

  it('previews every prefix of a plan (the complete one is the decoded image)', () => expectPreviews(tokenizer, img_BHWC));
});
