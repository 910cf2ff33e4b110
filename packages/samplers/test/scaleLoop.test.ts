import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, RandomGenerator, ShapeError } from '@nextdetail/core';
import type { TokenPlan, VarTokenizer } from '@nextdetail/tokenizers';
import type { VarGenerator } from '@nextdetail/transformer';
import { backendName, expectNoLeaks } from '../../../test/backend';
import { openFixtures } from '../../../test/fixtures';
import { generateScalePlan, type ScaleStepEvent } from '../src/index';
import { disposePlan, planIds, varPipeline } from './pipelines';

// Behaviour of the next-scale loop on a complete VAR pipeline (the reference VQVAE and transformer fixtures, random
// weights): seeding, progress, cancellation, teacher-forced prefixes and masked editing.

let tokenizer: VarTokenizer;
let generator: VarGenerator;
let reference: TokenPlan;

beforeAll(async () => {
  const [file] = await openFixtures('var_transformer');
  let images_BHWC: tf.Tensor4D;
  ({ tokenizer, generator, images_BHWC } = await varPipeline(file!));
  await file!.close();
  reference = await tokenizer.encode(images_BHWC);
  images_BHWC.dispose();
});

afterAll(() => {
  tokenizer?.dispose();
  generator?.dispose();
  if (reference) disposePlan(reference);
});

describe(`generateScalePlan on a VAR pipeline [${backendName()}]`, () => {
  it('samples reproducibly by seed, reports every step, and leaks nothing', async () => {
    const events: Array<Omit<ScaleStepEvent, 'plan'> & { planSteps: number }> = [];
    const run = (seed: number) =>
      generateScalePlan(tokenizer, generator, {
        labels: [1, 2],
        seed,
        cfg: 2,
        topK: 8,
        topP: 0.9,
        progress: ({ plan, ...e }) => void events.push({ ...e, planSteps: plan.steps.length }),
      });
    const [a, b, c] = await expectNoLeaks(async () => {
      const plans = [await run(5), await run(5), await run(6)];
      const out = await Promise.all(plans.map(planIds));
      plans.forEach(disposePlan);
      return out;
    });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const S = tokenizer.schedule().length;
    expect(events.slice(0, S).map((e) => [e.step, e.steps, e.planSteps])).toEqual(
      Array.from({ length: S }, (_, i) => [i + 1, S, i + 1]),
    );
    for (let i = 1; i < S; i++) expect(events[i]!.cacheBytes).toBeGreaterThan(events[i - 1]!.cacheBytes);
    a!.flat().forEach((id) => expect(id >= 0 && id < tokenizer.vocabSize).toBe(true));
  });

  it('stops at an aborted signal without leaking', async () => {
    const controller = new AbortController();
    await expectNoLeaks(async () => {
      const run = generateScalePlan(tokenizer, generator, {
        labels: [0, 0],
        topK: 1,
        signal: controller.signal,
        progress: ({ step }) => {
          if (step === 2) controller.abort();
        },
      });
      await expect(run).rejects.toThrow(/abort/i);
    });
  });

  it('feeds a teacher-forced prefix instead of sampling it', async () => {
    const prefix: TokenPlan = { steps: reference.steps.slice(0, 2) };
    const plan = await generateScalePlan(tokenizer, generator, { labels: [3, 4], seed: 1, prefix });
    const [got, want] = [await planIds(plan), await planIds(reference)];
    expect(got.slice(0, 2)).toEqual(want.slice(0, 2));
    disposePlan(plan);
  });

  it('masked editing keeps the reference where the mask keeps and at the smallest steps, and samples elsewhere', async () => {
    const sizes = tokenizer.schedule().map((s) => s.size);
    const [h, w] = sizes[sizes.length - 1]!;
    // Keep the left half of the last grid.
    const keep = tf.tidy(() => tf.tile(tf.concat([tf.ones([1, h, w / 2]), tf.zeros([1, h, w - w / 2])], 2), [2, 1, 1])) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const plan = await generateScalePlan(tokenizer, generator, { labels: [5, 6], seed: 3, topK: 4, edit: { reference, keep_BHW: keep } });
    expect(tf.memory().numTensors - before, 'only the plan is new').toBe(plan.steps.length);
    const [got, want] = [await planIds(plan), await planIds(reference)];
    for (const [si, [sh, sw]] of sizes.entries()) {
      const l = sh * sw;
      const keepHere = tf.tidy(() => tf.reshape(tf.greater(tf.image.resizeBilinear(tf.expandDims(keep, 3) as tf.Tensor4D, [sh, sw], false, true), 0.5), [2 * l]));
      const k = Array.from(await keepHere.data());
      keepHere.dispose();
      got[si]!.forEach((id, i) => {
        if (l <= 3 || k[i]) expect(id, `step ${si} position ${i}`).toBe(want[si]![i]);
      });
    }
    // The generated right half is not simply the reference.
    expect(got[sizes.length - 1]).not.toEqual(want[sizes.length - 1]);
    const all = tf.onesLike(keep) as tf.Tensor3D;
    const full = await generateScalePlan(tokenizer, generator, { labels: [5, 6], seed: 3, topK: 4, edit: { reference, keep_BHW: all } });
    expect(await planIds(full)).toEqual(want);
    tf.dispose([keep, all]);
    disposePlan(plan);
    disposePlan(full);
  });

  it('rejects bad options with typed errors naming the argument', async () => {
    await expect(generateScalePlan(tokenizer, generator, { labels: [] })).rejects.toThrow(InvalidArgumentError);
    const big = generator.config.numClasses + 1;
    await expect(generateScalePlan(tokenizer, generator, { labels: [big] })).rejects.toThrow(/labels\[0\]/);
    await expect(generateScalePlan(tokenizer, generator, { labels: [0], cfg: -1 })).rejects.toThrow(/cfg/);
    await expect(generateScalePlan(tokenizer, generator, { labels: [0], topK: 3 })).rejects.toThrow(/rng/);
    const keep = tf.ones([3, 4, 4]) as tf.Tensor3D;
    await expect(generateScalePlan(tokenizer, generator, { labels: [0, 1], edit: { reference, keep_BHW: keep } })).rejects.toThrow(ShapeError);
    const keep2 = tf.ones([1, 4, 4]) as tf.Tensor3D;
    await expect(generateScalePlan(tokenizer, generator, { labels: [0], edit: { reference, keep_BHW: keep2 } })).rejects.toThrow(/edit.reference/);
    tf.dispose([keep, keep2]);
    expect(new RandomGenerator(1)).toBeDefined();
  });
});
