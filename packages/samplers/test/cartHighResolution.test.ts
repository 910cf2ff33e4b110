import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, resize } from '@nextdetail/core';
import type { BaseDetailStep, CartTokenizer, VarTokenizer } from '@nextdetail/tokenizers';
import type { VarGenerator } from '@nextdetail/transformer';
import { backendName, expectNoLeaks } from '../../../test/backend';
import { generateHighResolution, type HighResolutionGeneration } from '../src/generate/cartHighResolution';
import { generateScalePlan } from '../src/generate/scaleLoop';
import { disposePlan, planIds, tinyVarPipeline } from './pipelines';

// CART §4.2.1 on the tiny CART pipeline (8×8 images, 4×4 latent, order 2): the base is generated at the trained size
// and up-scaled, the details are generated window by window at the target size.

async function maxAbs(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

function disposeGeneration(g: HighResolutionGeneration): void {
  tf.dispose([g.images_BHWC, g.base_BHWC, g.fhat_BHWC, ...g.details.map((d) => d.idx_Bl)]);
  disposePlan(g.basePlan);
}

describe(`CART high resolution without retraining [${backendName()}]`, () => {
  let tokenizer: CartTokenizer;
  let generator: VarGenerator;
  beforeAll(async () => {
    const p = await tinyVarPipeline({ order: 2 });
    tokenizer = p.tokenizer as CartTokenizer;
    generator = p.generator;
  });
  afterAll(() => {
    tokenizer?.dispose();
    generator?.dispose();
  });

  it('generates at the target size from the up-scaled base plus patch-wise details, reproducibly, leak-free', async () => {
    const size = [16, 12] as const; // latent 8×6: windows at rows 0, 4 and columns 0, 2 (overlapping)
    const latent = [8, 6];
    const options = { labels: [1, 7], seed: 3, cfg: 1.5, topK: 8, size };
    const baseCount = tokenizer.baseDetail.basePatchNums.length;
    const detailCount = tokenizer.schedule().length - baseCount;
    const found = await expectNoLeaks(async () => {
      const g = await generateHighResolution(tokenizer, generator, options);
      const again = await generateHighResolution(tokenizer, generator, options);
      const full = await generateScalePlan(tokenizer, generator, { labels: [1, 7], seed: 3, cfg: 1.5, topK: 8 });
      const baseSteps = g.basePlan.steps.map((s, scale): BaseDetailStep => ({ kind: 'base', scale, size: [...s.size], idx_Bl: s.idx_Bl }));
      const upscaled = tf.tidy(() => resize(tokenizer.baseDetail.idxToFhat({ steps: baseSteps }), latent as [number, number], 'bilinear'));
      const detailTerms = tf.tidy(() =>
        g.details.reduce<tf.Tensor>((sum, d) => {
          const full = tokenizer.baseDetail.basePatchNums.map(() => latent as [number, number]);
          return tf.add(sum, tokenizer.quantizer.scaleTerm(tokenizer.baseDetail.detailPhiScale, tokenizer.quantizer.embed(d.idx_Bl, latent as [number, number]), full));
        }, tf.zeros(g.fhat_BHWC.shape)),
      );
      const withoutDetails = tf.sub(g.fhat_BHWC, detailTerms);
      const ids = await Promise.all(g.details.map(async (d) => Array.from(await d.idx_Bl.data())));
      const result = {
        imageShape: g.images_BHWC.shape,
        baseShape: g.base_BHWC.shape,
        detailShapes: g.details.map((d) => [d.kind, ...d.size, ...d.idx_Bl.shape]),
        idsInRange: ids.every((row) => row.every((v) => v >= 0 && v < tokenizer.vocabSize)),
        sameIds: JSON.stringify(ids) === JSON.stringify(await Promise.all(again.details.map(async (d) => Array.from(await d.idx_Bl.data())))),
        sameImages: await maxAbs(g.images_BHWC, again.images_BHWC),
        baseIds: await planIds(g.basePlan),
        fullBaseIds: (await planIds(full)).slice(0, baseCount),
        baseError: await maxAbs(g.base_BHWC, upscaled),
        preservedError: await maxAbs(withoutDetails, g.base_BHWC),
        range: [...(await g.images_BHWC.data())].every((v) => v >= -1 && v <= 1),
      };
      tf.dispose([upscaled, detailTerms, withoutDetails]);
      disposeGeneration(g);
      disposeGeneration(again);
      disposePlan(full);
      return result;
    });
    expect(found.imageShape).toEqual([2, ...size, 3]);
    expect(found.baseShape).toEqual([2, ...latent, tokenizer.latentChannels]);
    expect(found.detailShapes).toEqual(Array.from({ length: detailCount }, () => ['detail', ...latent, 2, latent[0]! * latent[1]!]));
    expect(found.idsInRange).toBe(true);
    expect(found.sameIds).toBe(true);
    expect(found.sameImages).toBe(0);
    // The base is exactly a normal run's base (same seed), and f̂ keeps its bilinear up-scaling untouched.
    expect(found.baseIds).toEqual(found.fullBaseIds);
    expect(found.baseError).toBeLessThan(1e-5);
    expect(found.preservedError).toBeLessThan(1e-4);
    expect(found.range).toBe(true);
  });

  it('at the trained size the base is the generated one and one window covers the grid', async () => {
    const g = await expectNoLeaks(async () => {
      const out = await generateHighResolution(tokenizer, generator, { labels: [2], seed: 1, topK: 4, size: tokenizer.imageSize });
      const baseSteps = out.basePlan.steps.map((s, scale): BaseDetailStep => ({ kind: 'base', scale, size: [...s.size], idx_Bl: s.idx_Bl }));
      const base = tokenizer.baseDetail.idxToFhat({ steps: baseSteps });
      const error = await maxAbs(base, out.base_BHWC);
      const shape = out.images_BHWC.shape;
      base.dispose();
      disposeGeneration(out);
      return { error, shape };
    });
    expect(g.error).toBe(0);
    expect(g.shape).toEqual([1, ...tokenizer.imageSize, 3]);
  });

  it('refuses a VAR tokenizer and sizes below the trained one or off the latent grid, leak-free', async () => {
    const { tokenizer: varTokenizer, generator: varGenerator } = (await tinyVarPipeline()) as { tokenizer: VarTokenizer; generator: VarGenerator };
    await expectNoLeaks(async () => {
      await expect(generateHighResolution(varTokenizer, varGenerator, { labels: [1], seed: 1, size: [16, 16] })).rejects.toThrow(InvalidArgumentError);
      await expect(generateHighResolution(tokenizer, generator, { labels: [1], seed: 1, size: [4, 16] })).rejects.toThrow(/size/);
      await expect(generateHighResolution(tokenizer, generator, { labels: [1], seed: 1, size: [15, 16] })).rejects.toThrow(InvalidArgumentError);
    });
    varTokenizer.dispose();
    varGenerator.dispose();
  });
});
