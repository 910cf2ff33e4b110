import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@nextdetail/core';
import type { CartTokenizer, TokenPlan, VarTokenizer } from '@nextdetail/tokenizers';
import type { VarGenerator } from '@nextdetail/transformer';
import { backendName, expectNoLeaks } from '../../../test/backend';
import { editImages, generate } from '../src/generate/imageGeneration';
import { generateScalePlan } from '../src/generate/scaleLoop';
import { disposePlan, planIds, tinyVarPipeline } from './pipelines';

// VAR's more_smooth (digest §1.6) on the tiny VAR and CART pipelines: ids still sampled, inputs and images from the
// soft f̂; the tokenizers' soft-step methods reproduce a plan's own f̂, inputs and images for one-hot weights.

async function maxAbs(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

for (const order of [undefined, 2]) {
  const family = order === undefined ? 'VAR' : `CART order ${order}`;
  describe(`more_smooth generation, ${family} [${backendName()}]`, () => {
    let tokenizer: VarTokenizer | CartTokenizer;
    let generator: VarGenerator;
    beforeAll(async () => {
      ({ tokenizer, generator } = await tinyVarPipeline(order === undefined ? undefined : { order }));
    });
    afterAll(() => {
      tokenizer?.dispose();
      generator?.dispose();
    });

    it('one-hot weights reproduce the plan’s f̂, every next input and the decoded images, leak-free', async () => {
      const errors = await expectNoLeaks(async () => {
        const plan = await generateScalePlan(tokenizer, generator, { labels: [3, 5], seed: 1, topK: 6 });
        const found: number[] = [];
        let fhat: tf.Tensor4D | null = null;
        for (let k = 0; k < plan.steps.length; k++) {
          if (k > 0) {
            const prefix: TokenPlan = { steps: plan.steps.slice(0, k) };
            const hard = tokenizer.nextInput(prefix, plan.steps[k]!.size);
            const soft = tokenizer.inputFromLatent(k, fhat!);
            found.push(await maxAbs(hard, soft));
            tf.dispose([hard, soft]);
          }
          const next: tf.Tensor4D = tf.tidy(() => {
            const term = tokenizer.stepTerm(k, tf.cast(tf.oneHot(plan.steps[k]!.idx_Bl, tokenizer.vocabSize), 'float32') as tf.Tensor3D);
            return tf.add(fhat ?? tf.zerosLike(term), term) as tf.Tensor4D;
          });
          fhat?.dispose();
          fhat = next;
        }
        const latent = tokenizer.planToLatent(plan);
        found.push(await maxAbs(latent, fhat!));
        const [a, b] = [tokenizer.decode(plan), tokenizer.decodeLatent(fhat!)];
        found.push(await maxAbs(a, b));
        tf.dispose([latent, a, b, fhat!]);
        disposePlan(plan);
        return found;
      });
      expect(errors.every((e) => e === 0)).toBe(true);
    });

    it('samples the ids but decodes the soft f̂; reproducible from the seed, leak-free', async () => {
      const found = await expectNoLeaks(async () => {
        const options = { labels: [3, 5], seed: 7, cfg: 2, topK: 8, topP: 0.9 };
        const smooth = await generate(tokenizer, generator, { ...options, moreSmooth: true });
        const again = await generate(tokenizer, generator, { ...options, moreSmooth: true });
        const hard = await generate(tokenizer, generator, options);
        const fromIds = tokenizer.decode(smooth.plan);
        const [ids, idsAgain, hardIds] = [await planIds(smooth.plan), await planIds(again.plan), await planIds(hard.plan)];
        const result = {
          shape: smooth.images_BHWC.shape,
          reproducible: JSON.stringify(ids) === JSON.stringify(idsAgain) && (await maxAbs(smooth.images_BHWC, again.images_BHWC)) === 0,
          idsInRange: ids.every((row) => row.every((v) => v >= 0 && v < tokenizer.vocabSize)),
          // The first step sees the same logits and the same generator state as hard sampling.
          firstStepSame: JSON.stringify(ids[0]) === JSON.stringify(hardIds[0]),
          vsOwnIds: await maxAbs(smooth.images_BHWC, fromIds),
          vsHard: await maxAbs(smooth.images_BHWC, hard.images_BHWC),
        };
        tf.dispose([smooth.images_BHWC, again.images_BHWC, hard.images_BHWC, fromIds]);
        [smooth.plan, again.plan, hard.plan].forEach(disposePlan);
        return result;
      });
      expect(found.shape).toEqual([2, ...tokenizer.imageSize, 3]);
      expect(found.reproducible).toBe(true);
      expect(found.idsInRange).toBe(true);
      expect(found.firstStepSame).toBe(true);
      expect(found.vsOwnIds).toBeGreaterThan(1e-4);
      expect(found.vsHard).toBeGreaterThan(1e-4);
    });

    it('an edit that keeps everything enters the image’s own codes: the reconstruction exactly, leak-free', async () => {
      const [H, W] = tokenizer.imageSize;
      const images = tf.tensor4d(Float32Array.from({ length: H * W * 3 }, (_, i) => Math.sin(0.37 * i) * Math.cos(0.05 * i)), [1, H, W, 3]);
      const keep = tf.ones([1, H, W]) as tf.Tensor3D;
      const error = await expectNoLeaks(async () => {
        const g = await editImages(tokenizer, generator, { images_BHWC: images, keep_BHW: keep, labels: [2], seed: 3, topK: 5, moreSmooth: true });
        const plan = await tokenizer.encode(images);
        const recon = tokenizer.decode(plan);
        const e = await maxAbs(g.images_BHWC, recon);
        tf.dispose([g.images_BHWC, recon]);
        disposePlan(g.plan);
        disposePlan(plan);
        return e;
      });
      expect(error).toBeLessThan(1e-5);
      tf.dispose([images, keep]);
    });

    it('refuses moreSmooth without a generator or on a tokenizer without soft steps, leak-free', async () => {
      const noSoftSteps = new Proxy(tokenizer, { get: (t, key) => (key === 'stepTerm' ? undefined : Reflect.get(t, key)) });
      await expectNoLeaks(async () => {
        await expect(generate(tokenizer, generator, { labels: [1], topK: 1, moreSmooth: true })).rejects.toThrow(/rng/);
        await expect(generate(noSoftSteps, generator, { labels: [1], seed: 1, moreSmooth: true })).rejects.toThrow(InvalidArgumentError);
      });
    });
  });
}
