import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@nextdetail/core';
import type { CartTokenizer, TokenPlan } from '@nextdetail/tokenizers';
import type { VarGenerator } from '@nextdetail/transformer';
import { backendName, expectNoLeaks } from '../../../test/backend';
import { editImages, extendImages, generateScalePlan } from '../src/index';
import { disposePlan, planIds, tinyVarPipeline } from './pipelines';

// Masked editing and extension with a CART tokenizer of order 1: the loop runs on CART's own schedule (base steps,
// then full-resolution detail steps), teacher-forcing the image's tokens where the mask keeps.

describe(`CART editImages and extendImages (order 1) [${backendName()}]`, () => {
  let tokenizer: CartTokenizer;
  let generator: VarGenerator;
  let images_BHWC: tf.Tensor4D;
  let reference: TokenPlan;
  beforeAll(async () => {
    const pipeline = await tinyVarPipeline({ order: 1 });
    tokenizer = pipeline.tokenizer as CartTokenizer;
    generator = pipeline.generator;
    const [H, W] = tokenizer.imageSize;
    images_BHWC = tf.tensor4d(Float32Array.from({ length: H * W * 3 }, (_, i) => Math.sin(0.37 * i) * Math.cos(0.05 * i)), [1, H, W, 3]);
    reference = await tokenizer.encode(images_BHWC);
  });
  afterAll(() => {
    if (reference) disposePlan(reference);
    images_BHWC?.dispose();
    tokenizer?.dispose();
    generator?.dispose();
  });

  it('has base steps, then detail steps (the case a single kind per schedule got wrong)', () => {
    const kinds = tokenizer.schedule().map((s) => s.kind);
    expect(kinds).toEqual(reference.steps.map((s) => s.kind));
    expect(kinds[0]).toBe('base');
    expect(kinds[kinds.length - 1]).toBe('detail');
  });

  it('a keep-all mask reproduces the reference plan exactly, leak-free', async () => {
    const [B, H, W] = images_BHWC.shape;
    const keep_BHW = tf.ones([B, H, W]) as tf.Tensor3D;
    await expectNoLeaks(async () => {
      const out = await editImages(tokenizer, generator, { images_BHWC, keep_BHW, labels: [3], seed: 5, cfg: 1.5, topK: 6 });
      try {
        expect(out.plan.steps.map((s) => [s.kind, s.size])).toEqual(reference.steps.map((s) => [s.kind, s.size]));
        expect(await planIds(out.plan)).toEqual(await planIds(reference));
        expect(out.images_BHWC.shape).toEqual([B, H, W, 3]);
      } finally {
        out.images_BHWC.dispose();
        disposePlan(out.plan);
      }
    });
    keep_BHW.dispose();
  });

  it('a hole is regenerated end to end while the kept half keeps the image’s tokens, leak-free', async () => {
    const [B, H, W] = images_BHWC.shape;
    // Keep the left half, regenerate the right half.
    const keep_BHW = tf.tidy(() => tf.pad(tf.ones([B, H, W / 2]), [[0, 0], [0, 0], [0, W / 2]])) as tf.Tensor3D;
    await expectNoLeaks(async () => {
      const out = await editImages(tokenizer, generator, { images_BHWC, keep_BHW, labels: [7], seed: 2, cfg: 1.5, topK: 6 });
      try {
        expect(out.plan.steps.map((s) => s.kind)).toEqual(tokenizer.schedule().map((s) => s.kind));
        const px = await out.images_BHWC.data();
        expect(out.images_BHWC.shape).toEqual([B, H, W, 3]);
        expect(px.every(Number.isFinite)).toBe(true);
        const [got, want] = [await planIds(out.plan), await planIds(reference)];
        let regeneratedDiffer = false;
        out.plan.steps.forEach((step, si) => {
          const [h, w] = step.size;
          // An even grid splits into whole kept and regenerated halves (bilinear, half-pixel).
          if (w % 2 !== 0 || h * w <= 3) return;
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              if (x < w / 2) expect(got[si]![y * w + x], `step ${si} (${step.kind}) at ${y},${x}`).toBe(want[si]![y * w + x]);
              else regeneratedDiffer ||= got[si]![y * w + x] !== want[si]![y * w + x];
            }
          }
        });
        expect(regeneratedDiffer).toBe(true);
      } finally {
        out.images_BHWC.dispose();
        disposePlan(out.plan);
      }
    });
    keep_BHW.dispose();
  });

  it('extendImages places a smaller input on the canvas and keeps its tokens, leak-free', async () => {
    const [H, W] = tokenizer.imageSize;
    const input = tf.slice(images_BHWC, [0, 0, 0, 0], [1, H / 2, W, 3]) as tf.Tensor4D;
    const canvas = tf.pad(input, [[0, 0], [0, H / 2], [0, 0], [0, 0]]) as tf.Tensor4D;
    const canvasPlan = await tokenizer.encode(canvas);
    await expectNoLeaks(async () => {
      const out = await extendImages(tokenizer, generator, { images_BHWC: input, size: [H, W], offset: [0, 0], labels: [1], seed: 4, topK: 6 });
      try {
        expect(out.images_BHWC.shape).toEqual([1, H, W, 3]);
        const last = out.plan.steps.length - 1;
        expect(out.plan.steps[last]!.kind).toBe('detail');
        const [h, w] = out.plan.steps[last]!.size;
        const [got, want] = [await planIds(out.plan), await planIds(canvasPlan)];
        // The top half of the last (full-resolution) grid is the input's.
        expect(got[last]!.slice(0, (h / 2) * w)).toEqual(want[last]!.slice(0, (h / 2) * w));
      } finally {
        out.images_BHWC.dispose();
        disposePlan(out.plan);
      }
    });
    disposePlan(canvasPlan);
    tf.dispose([input, canvas]);
  });

  it('refuses a schedule off CART’s grids, naming the argument', async () => {
    const err = await expectNoLeaks(() =>
      generateScalePlan(tokenizer, generator, { labels: [0], seed: 1, schedule: [[1, 1], [2, 2], [4, 4]] }).then(
        () => null,
        (e: unknown) => e,
      ),
    );
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).argument).toBe('schedule');
  });
});
