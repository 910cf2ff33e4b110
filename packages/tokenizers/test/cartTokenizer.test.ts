import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, type TensorSource } from '@nextdetail/core';
import { readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import { CartTokenizer, type CartTokenizerConfig } from '../src/cartTokenizer.js';
import type { TokenPlan, Tokenizer } from '../src/tokenizer.js';
import { VarTokenizer, varTokenizerConfigFromReference } from '../src/varTokenizer.js';
import { VarVqvae } from '../src/vqvae/varVqvae.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';
import { expectPreviews, maxAbsDiff, normals, readNhwc, syntheticSource, thrown } from './helpers.js';

/** The transformer inputs of every step after the first, from nextInput on the plan's prefixes. */
function nextInputs(tokenizer: Tokenizer, plan: TokenPlan): tf.Tensor3D[] {
  return plan.steps.slice(1).map((step, k) => tokenizer.nextInput({ steps: plan.steps.slice(0, k + 1) }, step.size));
}

async function ids(plan: TokenPlan): Promise<number[][]> {
  return Promise.all(plan.steps.map(async (s) => Array.from(await s.idx_Bl.data())));
}

const SMOOTHER = { method: 'guided-filter' as const, guidedFilter: { radius: 1 } };

/** Two levels (factor 2), one block per level, z 4, 4×4 latent. */
const BASE: CartTokenizerConfig = {
  vae: { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 4, vocabSize: 16 },
  quantizer: { vocabSize: 16, cvae: 4, patchNums: [1, 2, 4], quantResi: 0.5, shareQuantResi: 4 },
  decomposeOptions: SMOOTHER,
};

/** BASE's VQVAE with smooth synthetic CNN weights, an N(0, 1) codebook and small Phi convolutions. */
function tinySource(): TensorSource {
  const shapes: Record<string, number[]> = Object.fromEntries(
    Object.entries(VarVqvae.stateDictSpec(BASE.vae)).map(([k, p]) => [k, [...p.shape]]),
  );
  for (let k = 0; k < 4; k++) {
    shapes[`quantize.quant_resi.qresi_ls.${k}.weight`] = [4, 4, 3, 3];
    shapes[`quantize.quant_resi.qresi_ls.${k}.bias`] = [4];
  }
  const cnn = syntheticSource(shapes, 0.1);
  return {
    keys: () => [...cnn.keys(), 'quantize.embedding.weight'],
    info: (name) => (name === 'quantize.embedding.weight' ? { dtype: 'F32', shape: [16, 4] } : cnn.info(name)),
    tensor: async (name) => (name === 'quantize.embedding.weight' ? tf.tensor2d(normals(64, 5), [16, 4]) : cnn.tensor(name)),
  };
}

/** Images in [−1, 1] with structure at several scales, so that every detail factor is non-zero. */
function images(b: number, h: number, w: number): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from({ length: b * h * w * 3 }, (_, i) => 0.8 * Math.sin(0.37 * i) * Math.cos(0.05 * i)), [b, h, w, 3]);
}

describe(`CartTokenizer on a tiny random-weight VQVAE [${backendName()}]`, () => {
  let img_BHWC: tf.Tensor4D;
  beforeAll(() => {
    img_BHWC = images(2, 8, 8);
  });
  afterAll(() => img_BHWC?.dispose());

  it('order 0 gives exactly VarTokenizer\'s plan (ids, sizes), inputs and images, leak-free', async () => {
    const cart = await CartTokenizer.fromStateDict(tinySource(), { ...BASE, order: 0 });
    const tokenizer = await VarTokenizer.fromStateDict(tinySource(), BASE);
    await expectNoLeaks(async () => {
      const a = await cart.encode(img_BHWC);
      const b = await tokenizer.encode(img_BHWC);
      expect(a.steps.map((s) => [s.kind, s.size])).toEqual(b.steps.map((s) => ['base', s.size]));
      expect(cart.schedule().map((s) => [s.size, s.tokens])).toEqual(tokenizer.schedule().map((s) => [s.size, s.tokens]));
      expect(await ids(a)).toEqual(await ids(b));
      const [imageA, imageB] = [cart.decode(a), tokenizer.decode(b)];
      const [inputA, inputB] = [cart.teacherForcing(a), tokenizer.teacherForcing(b)];
      expect(await maxAbsDiff(imageA, imageB)).toBe(0);
      expect(await maxAbsDiff(inputA, inputB)).toBe(0);
      tf.dispose([a, b, imageA, imageB, inputA, inputB]);
    });
    cart.dispose();
    tokenizer.dispose();
  });

  it('order 2 with 3 detail maps: base scales then D2, D2, D1 (the extra map to the deepest factor); decode is the clamped decoder of Σ Phi(z); teacherForcing is the nextInput steps; leak-free', async () => {
    const cart = await CartTokenizer.fromStateDict(tinySource(), { ...BASE, order: 2, baseDetail: { detailSteps: 3 } });
    expect([cart.family, cart.vocabSize, cart.latentChannels, cart.downsampleFactor, cart.order]).toEqual(['cart', 16, 4, 2, 2]);
    expect(cart.schedule()).toEqual([
      { kind: 'base', size: [1, 1], tokens: 1 },
      { kind: 'base', size: [2, 2], tokens: 4 },
      { kind: 'base', size: [4, 4], tokens: 16 },
      { kind: 'detail', size: [4, 4], tokens: 16 },
      { kind: 'detail', size: [4, 4], tokens: 16 },
      { kind: 'detail', size: [4, 4], tokens: 16 },
    ]);
    await expectNoLeaks(async () => {
      const plan = await cart.encode(img_BHWC);
      expect(plan.steps.map((s) => [s.kind, s.size, s.idx_Bl.shape])).toEqual(cart.schedule().map((s) => [s.kind, s.size, [2, s.tokens]]));
      expect(plan.steps.map((s) => ('factor' in s ? s.factor : 0))).toEqual([0, 0, 0, 2, 2, 1]);
      const image = cart.decode(plan);
      const fhat = cart.planToLatent(plan);
      const direct = cart.vae.fhatToImage(fhat);
      expect(image.shape).toEqual([2, 8, 8, 3]);
      expect(await maxAbsDiff(image, direct)).toBe(0);
      const input = cart.teacherForcing(plan);
      const steps = nextInputs(cart, plan);
      expect(steps.map((s) => s.shape[1])).toEqual([4, 16, 16, 16, 16]);
      const stepped = tf.concat(steps, 1);
      expect(await maxAbsDiff(input, stepped)).toBeLessThan(1e-6);
      // The first detail step reads f̂ of the base steps at full resolution: VAR's f̂ of the base ids.
      const baseFhat = cart.quantizer.idxToFhat(plan.steps.slice(0, 3).map((s) => s.idx_Bl));
      const baseFhat_BLC = tf.reshape(baseFhat, [2, 16, 4]);
      expect(await maxAbsDiff(steps[2]!, baseFhat_BLC)).toBe(0);
      tf.dispose([baseFhat, baseFhat_BLC]);
      tf.dispose([plan, image, fhat, direct, input, steps, stepped]);
    });
    cart.dispose();
  });

  it('rejects bad configs, images, plans and next sizes with typed errors, leak-free', async () => {
    await expectNoLeaks(async () => {
      const e0 = await thrown(() => CartTokenizer.fromStateDict(tinySource(), { ...BASE, order: 0, baseDetail: { detailSteps: 2 } }));
      expect((e0 as InvalidArgumentError).argument).toBe('config.baseDetail.detailSteps');
      const e1 = await thrown(() => CartTokenizer.fromStateDict(tinySource(), { ...BASE, order: -1 }));
      expect((e1 as InvalidArgumentError).argument).toBe('config.order');
    });
    const cart = await CartTokenizer.fromStateDict(tinySource(), { ...BASE, order: 1 });
    const plan = await cart.encode(img_BHWC);
    const small = images(1, 4, 4);
    await expectNoLeaks(async () => {
      const e2 = await thrown(() => cart.encode(small));
      expect(e2).toBeInstanceOf(ShapeError);
      expect((e2 as ShapeError).argument).toBe('images_BHWC');
      const asBase = { steps: plan.steps.map((s) => ({ ...s, kind: 'base' as const })) };
      const e3 = await thrown(() => cart.decode(asBase));
      expect((e3 as InvalidArgumentError).argument).toBe('plan.steps[3]');
      const e4 = await thrown(() => cart.nextInput({ steps: plan.steps.slice(0, 3) }, [2, 2]));
      expect((e4 as InvalidArgumentError).argument).toBe('nextSize');
      const e5 = await thrown(() => cart.encodeLatents({ fBase: plan.steps[0]!.idx_Bl as unknown as tf.Tensor4D, fDetails: [] }));
      expect((e5 as InvalidArgumentError).argument).toBe('latents.fDetails');
    });
    tf.dispose([plan, small]);
    cart.dispose();
  });

  it('previews every prefix of a plan, base and detail steps alike (the complete one is the decoded image)', async () => {
    const cart = await CartTokenizer.fromStateDict(tinySource(), { ...BASE, order: 2 });
    await expectPreviews(cart, img_BHWC);
    cart.dispose();
  });
});

const fixtures: SafetensorsFile[] = [];
for (const path of listFixtures('reference', '.safetensors')) {
  const file = await readSafetensorsFile(path);
  if (file.metadata.kind === 'var_vqvae') fixtures.push(file);
  else await file.close();
}

describe(`CartTokenizer of order 0 vs the VAR reference fixtures [${backendName()}]`, () => {
  it('finds var_vqvae fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  afterAll(() => Promise.all(fixtures.map((f) => f.close())));

  for (const file of fixtures) {
    const name = basename(file.name);
    it(`${name}: order 0 encodes to the reference ids (as base steps), decodes to the reference image and feeds the reference var_input, leak-free`, async () => {
      const { VQVAE } = JSON.parse(file.metadata.config_json ?? '{}') as { VQVAE: Record<string, unknown> };
      const cart = await CartTokenizer.fromStateDict(file, { ...varTokenizerConfigFromReference(VQVAE), order: 0 });
      const img_BHWC = await readNhwc(file, 'in.img');
      await expectNoLeaks(async () => {
        const plan = await cart.encode(img_BHWC);
        for (const [si, step] of plan.steps.entries()) {
          const want = await file.rawTensor(`out.idx.${si}`);
          expect(step.kind).toBe('base');
          expect(Array.from(await step.idx_Bl.data())).toEqual(Array.from(want.data as BigInt64Array, Number));
        }
        expect(plan.steps).toHaveLength(file.keys().filter((k) => /^out\.idx\.\d+$/.test(k)).length);
        const image = cart.decode(plan);
        const wantImage = await readNhwc(file, 'out.img_clamped');
        expect(await maxAbsDiff(image, wantImage)).toBeLessThan(5e-4);
        const input = cart.teacherForcing(plan);
        const wantInput = await file.tensor('out.var_input');
        expect(await maxAbsDiff(input, wantInput)).toBeLessThan(1e-4);
        tf.dispose([plan, image, wantImage, input, wantInput]);
      });
      img_BHWC.dispose();
      cart.dispose();
    });
  }
});
