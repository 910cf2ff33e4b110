import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, RandomGenerator } from '@nextdetail/core';
import type { GranularityStep, NvgTokenizer } from '@nextdetail/tokenizers';
import type { NvgGenerator, ScaleGenerator } from '@nextdetail/transformer';
import { backendName, expectNoLeaks } from '../../../test/backend';
import { editImages, generate, type NvgStageEvent, type NvgStepEvent, nvgGenerate } from '../src/index';
import { planIds, tinyNvgPipeline } from './pipelines';

// NVG's stage loop reports every stage (plan so far and a decoded preview) and stops at an aborted signal, through
// generate and through nvgGenerate, on the tiny random-weight pipeline.

let tokenizer: NvgTokenizer;
let generator: NvgGenerator;
const options = { labels: [2, 5], seed: 7, topK: 4, structureSteps: 3 };

beforeAll(async () => {
  ({ tokenizer, generator } = await tinyNvgPipeline());
});

afterAll(() => {
  tokenizer.dispose();
  generator.dispose();
});

async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

describe(`NVG generation progress [${backendName()}]`, () => {
  it('reports one event per stage in order, with the plan so far and previews in range; the last is the image', async () => {
    const S = tokenizer.stages;
    const [h, w] = tokenizer.schedule()[0]!.size;
    const events: { step: number; steps: number; size: number[]; clusters: number[]; maps: number[][] }[] = [];
    const previews: tf.Tensor4D[] = [];
    const before = tf.memory().numTensors;
    const [withProgress, without] = await (async () => {
      const a = await generate(tokenizer, generator, {
        ...options,
        progress: async ({ step, steps, size, plan, preview }: NvgStepEvent) => {
          const steps_ = plan.steps as GranularityStep[];
          const maps = await Promise.all(steps_.map(async (s) => Array.from(await s.labels_Bl.data())));
          events.push({ step, steps, size, clusters: steps_.map((s) => s.clusters), maps });
          const img = preview();
          const px = await img.data();
          expect(Math.min(...px)).toBeGreaterThanOrEqual(-1);
          expect(Math.max(...px)).toBeLessThanOrEqual(1);
          previews.push(img);
        },
      });
      const b = await generate(tokenizer, generator, options);
      return [a, b];
    })();
    try {
      expect(events.map((e) => e.step)).toEqual(Array.from({ length: S }, (_, i) => i + 1));
      expect(events.every((e) => e.steps === S && e.size[0] === h && e.size[1] === w)).toBe(true);
      expect(events.map((e) => e.clusters)).toEqual(events.map((e) => Array.from({ length: e.step }, (_, s) => 2 ** s)));
      expect(previews.map((p) => p.shape)).toEqual(events.map(() => [2, ...tokenizer.imageSize, 3]));
      // Each event's structure maps are the final plan's first ones.
      const finalMaps = await Promise.all((withProgress.plan.steps as GranularityStep[]).map(async (s) => Array.from(await s.labels_Bl.data())));
      for (const e of events) expect(e.maps).toEqual(finalMaps.slice(0, e.step));
      expect(await maxAbsDiff(previews[S - 1]!, withProgress.images_BHWC)).toBe(0);
      expect(await maxAbsDiff(previews[0]!, previews[S - 1]!)).toBeGreaterThan(0);
      // progress changes nothing for a seed.
      expect(await planIds(withProgress.plan)).toEqual(await planIds(without.plan));
      expect(await maxAbsDiff(withProgress.images_BHWC, without.images_BHWC)).toBe(0);
    } finally {
      tf.dispose([...previews, withProgress, without]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('previews decode the canvas f̂ that nvgGenerate reports after each stage', async () => {
    const canvases: tf.Tensor[] = [];
    const previews: tf.Tensor4D[] = [];
    const before = tf.memory().numTensors;
    const labels_B = tf.tensor1d([2, 5], 'int32');
    const [h, w] = tokenizer.schedule()[0]!.size;
    try {
      const loopEvents: number[][] = [];
      const raw = await nvgGenerate(generator, tokenizer.quantizer, labels_B, {
        topK: 4,
        structureSteps: 3,
        rng: new RandomGenerator(7),
        progress: (e: NvgStageEvent) => {
          loopEvents.push([e.step, e.steps, ...e.labels_BP.shape, ...e.tokens_BSP.shape, ...e.canvas_BPC.shape]);
          canvases.push(tf.clone(e.canvas_BPC));
        },
      });
      const S = tokenizer.stages;
      const P = h * w;
      const C = tokenizer.latentChannels;
      expect(loopEvents).toEqual(Array.from({ length: S }, (_, i) => [i + 1, S, 2, P, 2, S, P, 2, P, C]));
      expect(await maxAbsDiff(canvases[S - 1]!, raw.canvas_BPC)).toBe(0);
      tf.dispose(raw);
      const out = await generate(tokenizer, generator, { ...options, progress: ({ preview }) => void previews.push(preview()) });
      tf.dispose(out);
      for (let s = 0; s < S; s++) {
        const expected = tf.tidy(() => tokenizer.vae.decode(tf.reshape(canvases[s]!, [2, h, w, C]) as tf.Tensor4D));
        const scale = Math.max(1, ...(await expected.data()).map(Math.abs));
        expect(await maxAbsDiff(previews[s]!, expected)).toBeLessThanOrEqual(1e-4 + 1e-4 * scale);
        expected.dispose();
      }
    } finally {
      tf.dispose([labels_B, ...canvases, ...previews]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops with an AbortError before the stage after an abort, leak-free', async () => {
    for (const k of [1, 3]) {
      const controller = new AbortController();
      const seen: number[] = [];
      await expectNoLeaks(async () => {
        const run = generate(tokenizer, generator, {
          ...options,
          signal: controller.signal,
          progress: ({ step }) => {
            seen.push(step);
            if (step === k) controller.abort();
          },
        });
        await expect(run).rejects.toThrow(expect.objectContaining({ name: 'AbortError' }));
      });
      expect(seen).toEqual(Array.from({ length: k }, (_, i) => i + 1));
    }
    const aborted = AbortSignal.abort();
    const labels_B = tf.tensor1d([1], 'int32');
    await expectNoLeaks(async () => {
      const structure = { labels_BSP: tf.zeros([1, 2, generator.config.positions], 'int32') };
      await expect(
        nvgGenerate(generator, tokenizer.quantizer, labels_B, { topK: 1, rng: new RandomGenerator(0), structure, signal: aborted }),
      ).rejects.toThrow(/abort/i);
      structure.labels_BSP.dispose();
    }).finally(() => labels_B.dispose());
  });

  it('propagates a throwing progress callback, leak-free, also under structure guidance', async () => {
    const positions = generator.config.positions;
    for (const k of [1, 2, tokenizer.stages]) {
      await expectNoLeaks(async () => {
        const run = generate(tokenizer, generator, {
          ...options,
          progress: async ({ step }) => {
            if (step === k) throw new Error(`painter failed at ${step}`);
          },
        });
        await expect(run).rejects.toThrow(`painter failed at ${k}`);
      });
      await expectNoLeaks(async () => {
        // Stages 0 and 1 fixed: stage 1 splits every image into halves of the positions.
        const labels_BSP = tf.tidy(() => {
          const half = tf.cast(tf.greaterEqual(tf.range(0, positions), positions / 2), 'int32');
          return tf.tile(tf.reshape(tf.stack([tf.zerosLike(half), half]), [1, 2, positions]), [2, 1, 1]);
        });
        const run = generate(tokenizer, generator, {
          ...options,
          structure: { labels_BSP },
          progress: ({ step }) => {
            if (step === k) throw new Error('guided painter failed');
          },
        });
        await expect(run).rejects.toThrow('guided painter failed');
        labels_BSP.dispose();
      });
    }
  });
});

describe(`editImages refuses an NVG tokenizer [${backendName()}]`, () => {
  it('throws an InvalidArgumentError naming tokenizer, leak-free', async () => {
    const images_BHWC = tf.zeros([1, ...tokenizer.imageSize, 3]) as tf.Tensor4D;
    const keep_BHW = tf.ones([1, ...tokenizer.imageSize]) as tf.Tensor3D;
    try {
      await expectNoLeaks(async () => {
        const run = editImages(tokenizer, generator as unknown as ScaleGenerator, { images_BHWC, keep_BHW, labels: [1], seed: 0 });
        await expect(run).rejects.toThrow(InvalidArgumentError);
        await expect(
          editImages(tokenizer, generator as unknown as ScaleGenerator, { images_BHWC, keep_BHW, labels: [1], seed: 0 }),
        ).rejects.toThrow(/^tokenizer: expected a VAR, CART or FlexVAR tokenizer/);
      });
    } finally {
      tf.dispose([images_BHWC, keep_BHW]);
    }
  });
});
