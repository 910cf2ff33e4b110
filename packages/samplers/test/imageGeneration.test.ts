import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resize } from '@nextdetail/core';
import type { FlexVarTokenizer, Tokenizer } from '@nextdetail/tokenizers';
import type { FlexVarGenerator, VarGenerator } from '@nextdetail/transformer';
import { backendName } from '../../../test/backend';
import { openFixtures } from '../../../test/fixtures';
import { editImages, extendImages, generate, generateScalePlan, refineImages } from '../src/index';
import { disposePlan, flexVarPipeline, planIds, tinyNvgPipeline, tinyVarPipeline } from './pipelines';

// Image generation and the image-to-image modes end to end on small pipelines (random weights): shapes, ranges,
// seeding, and the teacher-forced parts equal to the image's own tokens.

async function maxAbs(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

describe(`VAR generate and editImages [${backendName()}]`, () => {
  let tokenizer: Tokenizer;
  let generator: VarGenerator;
  let images_BHWC: tf.Tensor4D;
  beforeAll(async () => {
    ({ tokenizer, generator } = await tinyVarPipeline());
    const [H, W] = tokenizer.imageSize;
    images_BHWC = tf.tensor4d(Float32Array.from({ length: 2 * H * W * 3 }, (_, i) => Math.sin(0.37 * i) * Math.cos(0.05 * i)), [2, H, W, 3]);
  });
  afterAll(() => {
    images_BHWC?.dispose();
    tokenizer?.dispose();
    generator?.dispose();
  });

  it('generates clamped images of the tokenizer size from the plan the seed gives, with a preview at every step, leak-free', async () => {
    const before = tf.memory().numTensors;
    const previews: number[][] = [];
    const progress = async ({ preview }: { preview: () => tf.Tensor4D }) => {
      const img = preview();
      previews.push(img.shape);
      const px = await img.data();
      expect(px.every((v) => v >= -1 && v <= 1)).toBe(true);
      img.dispose();
    };
    const a = await generate(tokenizer, generator, { labels: [1, 2], seed: 9, cfg: 1.5, topK: 10, progress });
    expect(previews).toEqual(tokenizer.schedule().map(() => [2, ...tokenizer.imageSize, 3]));
    const b = await generateScalePlan(tokenizer, generator, { labels: [1, 2], seed: 9, cfg: 1.5, topK: 10 });
    expect(await planIds(a.plan)).toEqual(await planIds(b));
    expect(a.images_BHWC.shape).toEqual([2, ...tokenizer.imageSize, 3]);
    const px = await a.images_BHWC.data();
    expect(Math.min(...px)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...px)).toBeLessThanOrEqual(1);
    const recon = tokenizer.decode(a.plan);
    expect(await maxAbs(a.images_BHWC, recon)).toBe(0);
    tf.dispose([a.images_BHWC, recon]);
    disposePlan(a.plan);
    disposePlan(b);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeping everything reproduces the image’s own reconstruction; a hole is regenerated', async () => {
    const one_BHWC = tf.slice(images_BHWC, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
    const [B, H, W] = one_BHWC.shape;
    const reference = await tokenizer.encode(one_BHWC);
    const recon = tokenizer.decode(reference);
    const all = tf.ones([B, H, W]) as tf.Tensor3D;
    const kept = await editImages(tokenizer, generator, { images_BHWC: one_BHWC, keep_BHW: all, labels: [0], seed: 2, topK: 5 });
    expect(await maxAbs(kept.images_BHWC, recon)).toBe(0);
    const hole = tf.tidy(() => tf.pad(tf.zeros([B, H / 2, W / 2]), [[0, 0], [H / 4, H / 4], [W / 4, W / 4]], 1)) as tf.Tensor3D;
    const filled = await editImages(tokenizer, generator, { images_BHWC: one_BHWC, keep_BHW: hole, labels: [0], seed: 2, topK: 5 });
    const [got, want] = [await planIds(filled.plan), await planIds(reference)];
    expect(got[got.length - 1]).not.toEqual(want[want.length - 1]);
    // The last grid's corner token lies outside the hole: teacher-forced.
    expect(got[got.length - 1]![0]).toBe(want[want.length - 1]![0]);
    tf.dispose([one_BHWC, recon, all, hole, kept.images_BHWC, filled.images_BHWC]);
    [reference, kept.plan, filled.plan].forEach(disposePlan);
  });
});

describe(`CART generation: VAR's generator over base maps, then full-resolution detail maps [${backendName()}]`, () => {
  it('generates a plan of base then detail steps and decodes it, reproducibly and leak-free', async () => {
    const { tokenizer: cart, generator } = await tinyVarPipeline({ order: 2 });
    try {
      const kinds = cart.schedule().map((s) => s.kind);
      expect(kinds.filter((k) => k === 'detail').length).toBeGreaterThan(0);
      const before = tf.memory().numTensors;
      const a = await generate(cart, generator, { labels: [4, 9], seed: 3, cfg: 1, topK: 6 });
      const b = await generateScalePlan(cart, generator, { labels: [4, 9], seed: 3, cfg: 1, topK: 6 });
      expect(a.plan.steps.map((s) => s.kind)).toEqual(kinds);
      expect(await planIds(a.plan)).toEqual(await planIds(b));
      expect(a.images_BHWC.shape).toEqual([2, ...cart.imageSize, 3]);
      a.images_BHWC.dispose();
      disposePlan(a.plan);
      disposePlan(b);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      cart.dispose();
      generator.dispose();
    }
  });
});

describe(`FlexVAR refineImages and extendImages [${backendName()}]`, () => {
  let tokenizer: FlexVarTokenizer;
  let generator: FlexVarGenerator;
  beforeAll(async () => {
    const [file] = await openFixtures('flexvar');
    ({ tokenizer, generator } = await flexVarPipeline(file!));
    await file!.close();
  });
  afterAll(() => {
    tokenizer?.dispose();
    generator?.dispose();
  });

  const f = () => tokenizer.downsampleFactor;
  const image = (b: number, h: number, w: number) =>
    tf.tensor4d(Float32Array.from({ length: b * h * w * 3 }, (_, i) => Math.sin(0.31 * i)), [b, h, w, 3]);

  it('refines at a higher resolution: coarse steps from the enlarged input, finer ones generated', async () => {
    const small = image(2, 4 * f(), 4 * f());
    const before = tf.memory().numTensors;
    const out = await refineImages(tokenizer, generator, { images_BHWC: small, size: [8 * f(), 8 * f()], fixedSteps: 2, labels: [3, 7], seed: 1, topK: 3 });
    expect(out.images_BHWC.shape).toEqual([2, 8 * f(), 8 * f(), 3]);
    expect(out.plan.steps[out.plan.steps.length - 1]!.size).toEqual([8, 8]);
    expect(tf.memory().numTensors - before, 'only the images and the plan are new').toBe(1 + out.plan.steps.length);
    const enlarged = tf.tidy(() => tf.clipByValue(resize(small, [8 * f(), 8 * f()], 'bicubic'), -1, 1) as tf.Tensor4D);
    const reference = await tokenizer.encode(enlarged);
    const [got, want] = [await planIds(out.plan), await planIds(reference)];
    expect(got.slice(0, 2)).toEqual(want.slice(0, 2));
    disposePlan(reference);
    await expect(refineImages(tokenizer, generator, { images_BHWC: small, size: [8 * f(), 8 * f()], fixedSteps: 99, labels: [3, 7] })).rejects.toThrow(/fixedSteps/);
    tf.dispose([small, enlarged, out.images_BHWC]);
    disposePlan(out.plan);
  });

  it('extends to another aspect ratio, keeping the input’s tokens where it was placed', async () => {
    const input = image(1, 8 * f(), 8 * f());
    const out = await extendImages(tokenizer, generator, { images_BHWC: input, size: [8 * f(), 16 * f()], offset: [0, 0], labels: [5], seed: 4, topK: 3 });
    expect(out.images_BHWC.shape).toEqual([1, 8 * f(), 16 * f(), 3]);
    const last = out.plan.steps[out.plan.steps.length - 1]!;
    expect(last.size).toEqual([8, 16]);
    const canvas = tf.pad(input, [[0, 0], [0, 0], [0, 8 * f()], [0, 0]]) as tf.Tensor4D;
    const reference = await tokenizer.encode(canvas);
    const [got, want] = [await planIds(out.plan), await planIds(reference)];
    const L = got.length - 1;
    // Left half of the last 8×16 grid is teacher-forced; its interior (away from the bilinear seam) equals the reference.
    for (let y = 0; y < 8; y++) for (let x = 0; x < 6; x++) expect(got[L]![y * 16 + x]).toBe(want[L]![y * 16 + x]);
    await expect(extendImages(tokenizer, generator, { images_BHWC: input, size: [4, 4], labels: [5] })).rejects.toThrow(/size/);
    tf.dispose([input, canvas, out.images_BHWC]);
    disposePlan(out.plan);
    disposePlan(reference);
  });
});

describe(`NVG through the same generate call [${backendName()}]`, () => {
  it('generates images from the stage loop, reproducibly by seed, leak-free', async () => {
    const { tokenizer, generator } = await tinyNvgPipeline();
    try {
      const options = { labels: [2, 5], seed: 7, topK: 4, structureSteps: 3 };
      const before = tf.memory().numTensors;
      const a = await generate(tokenizer, generator, options);
      const b = await generate(tokenizer, generator, options);
      expect(a.images_BHWC.shape).toEqual([2, ...tokenizer.imageSize, 3]);
      expect(a.plan.steps.map((s) => s.kind)).toEqual(tokenizer.schedule().map(() => 'granularity'));
      expect(await planIds(a.plan)).toEqual(await planIds(b.plan));
      const recon = tokenizer.decode(a.plan);
      const d = tf.tidy(() => tf.max(tf.abs(tf.sub(recon, a.images_BHWC))));
      expect((await d.data())[0]).toBe(0);
      tf.dispose([recon, d, a.images_BHWC, b.images_BHWC, a.plan, b.plan]);
      expect(tf.memory().numTensors).toBe(before);
      await expect(generate(tokenizer, generator, { labels: [99] })).rejects.toThrow(/labels\[0\]/);
    } finally {
      tokenizer.dispose();
      generator.dispose();
    }
  });
});
