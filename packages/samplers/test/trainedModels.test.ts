import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RandomGenerator, resize } from '@nextdetail/core';
import type { CartTokenizer, FlexVarTokenizer, GranularityStep, NvgTokenizer, TokenPlan, Tokenizer } from '@nextdetail/tokenizers';
import type { FlexVarGenerator, NvgGenerator, ScaleGenerator, VarGenerator } from '@nextdetail/transformer';
import { backendName, expectNoLeaks } from '../../../test/backend';
import { editImages, extendImages, generate, generateHighResolution, refineImages } from '../src/index';
import { planIds } from './pipelines';
import { loadTinyModel, type TinyModel } from './trained/loadTinyModel';
import { SHAPE_COLOURS, SHAPE_IMAGE_SIZE, shapeClassOf, shapesDataset } from './trained/shapesDataset';

// The generation loops and image-to-image modes end to end on the tiny models of test/assets, trained by
// scripts/train-tiny-models.mjs on the four-class shapes of trained/shapesDataset.ts (8×8 images, 4×4 latents). What
// only a trained model shows is asserted here: generated images are of the class asked for (by the dataset's colour
// rule, chance is 1/4), and edits keep what they teacher-force.

const CLASSES = SHAPE_COLOURS.length;
/** Two images of every class. */
const LABELS = Array.from({ length: 2 * CLASSES }, (_, i) => i % CLASSES);
const PIXELS = SHAPE_IMAGE_SIZE * SHAPE_IMAGE_SIZE * 3;
/** Scale-loop sampling of the class tests. */
const SCALE_SAMPLING = { cfg: 3, topK: 4 };
/** The trained image size (FlexVAR's tokenizer declares a larger default, see the training script). */
const IMAGE_SIZE: [number, number] = [SHAPE_IMAGE_SIZE, SHAPE_IMAGE_SIZE];

async function classesOf(images_BHWC: tf.Tensor): Promise<number[]> {
  const px = await images_BHWC.data();
  return Array.from({ length: images_BHWC.shape[0]! }, (_, i) => shapeClassOf(px.subarray(i * PIXELS, (i + 1) * PIXELS)));
}

function agreement(got: readonly number[], want: readonly number[]): number {
  return got.filter((c, i) => c === want[i]).length / want.length;
}

async function maxAbs(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

/** Mean |a − b| over rows [y0, y1) and columns [x0, x1) of two NHWC batches. */
async function meanAbsRegion(a: tf.Tensor4D, b: tf.Tensor4D, [y0, y1]: [number, number], [x0, x1]: [number, number]): Promise<number> {
  const d = tf.tidy(() => {
    const cut = (x: tf.Tensor4D) => tf.slice(x, [0, y0, x0, 0], [-1, y1 - y0, x1 - x0, -1]);
    return tf.mean(tf.abs(tf.sub(cut(a), cut(b))));
  });
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

/** `count` dataset images (a seed the models never trained on) and their classes. */
function references(count: number, seed = 99): { images_BHWC: tf.Tensor4D; labels: number[] } {
  const { pixels, labels, shape } = shapesDataset(new RandomGenerator(seed), count);
  return { images_BHWC: tf.tensor4d(pixels, shape), labels: Array.from(labels) };
}

/** Every tensor of a plan: the ids, and an NVG stage's structure map. */
function planTensors(plan: TokenPlan): tf.Tensor[] {
  return plan.steps.flatMap((s) => (s.kind === 'granularity' ? [s.idx_Bl, s.labels_Bl] : [s.idx_Bl]));
}

function disposeAll(...items: ({ images_BHWC: tf.Tensor; plan: TokenPlan } | tf.Tensor | TokenPlan)[]): void {
  for (const item of items) {
    if (item instanceof tf.Tensor) item.dispose();
    else if ('steps' in item) tf.dispose(planTensors(item));
    else tf.dispose([item.images_BHWC, ...planTensors(item.plan)]);
  }
}

type ScaleMethod = { name: 'var' | 'cart' | 'flexvar'; minAccuracy: number };

// The class accuracy each trained scale model must reach over 16 samples (two seeds × two per class; chance is 1/4).
const SCALE_METHODS: ScaleMethod[] = [
  { name: 'var', minAccuracy: 0.75 },
  { name: 'cart', minAccuracy: 0.75 },
  { name: 'flexvar', minAccuracy: 0.625 },
];

for (const method of SCALE_METHODS) {
  describe(`trained ${method.name} (test/assets/${method.name}.safetensors) [${backendName()}]`, () => {
    let model: TinyModel<Tokenizer, ScaleGenerator>;
    beforeAll(async () => {
      model = (await loadTinyModel(method.name)) as TinyModel<Tokenizer, ScaleGenerator>;
    });
    afterAll(() => model?.dispose());

    it(`generate: images of the asked class (≥ ${method.minAccuracy * 100} % by the colour rule), reproducible by seed, leak-free`, async () => {
      const { tokenizer, generator } = model;
      await expectNoLeaks(async () => {
        const options = { labels: LABELS, imageSize: IMAGE_SIZE, ...SCALE_SAMPLING };
        const a = await generate(tokenizer, generator, { ...options, seed: 1 });
        const again = await generate(tokenizer, generator, { ...options, seed: 1 });
        const b = await generate(tokenizer, generator, { ...options, seed: 2 });
        expect(a.images_BHWC.shape).toEqual([LABELS.length, ...IMAGE_SIZE, 3]);
        expect(a.plan.steps.map((s) => [s.kind, s.size])).toEqual(tokenizer.schedule(IMAGE_SIZE).map((s) => [s.kind, s.size]));
        expect(await maxAbs(a.images_BHWC, again.images_BHWC)).toBe(0);
        expect(await planIds(a.plan)).toEqual(await planIds(again.plan));
        expect(await planIds(a.plan)).not.toEqual(await planIds(b.plan));
        const classes = [...(await classesOf(a.images_BHWC)), ...(await classesOf(b.images_BHWC))];
        const accuracy = agreement(classes, [...LABELS, ...LABELS]);
        console.log(`[${backendName()}] ${method.name}: class accuracy ${accuracy} (${classes.join('')})`);
        expect(accuracy).toBeGreaterThanOrEqual(method.minAccuracy);
        disposeAll(a, again, b);
      });
    });

    it('editImages in-painting: the kept half’s tokens are the image’s own; pixels away from the hole stay the reconstruction', async () => {
      const { tokenizer, generator } = model;
      const { images_BHWC, labels } = references(4);
      const [B, H, W] = images_BHWC.shape;
      // Keep the left half (1) and regenerate the right half (0).
      const keep_BHW = tf.tidy(() => tf.pad(tf.ones([B, H, W / 2]), [[0, 0], [0, 0], [0, W / 2]])) as tf.Tensor3D;
      await expectNoLeaks(async () => {
        const reference = await tokenizer.encode(images_BHWC);
        const recon = tokenizer.decode(reference);
        const edited = await editImages(tokenizer, generator, { images_BHWC, keep_BHW, labels, seed: 3, ...SCALE_SAMPLING });
        const again = await editImages(tokenizer, generator, { images_BHWC, keep_BHW, labels, seed: 3, ...SCALE_SAMPLING });
        const otherClass = labels.map((l) => (l + 1) % CLASSES);
        const changed = await editImages(tokenizer, generator, { images_BHWC, keep_BHW, labels: otherClass, seed: 3, ...SCALE_SAMPLING });
        expect(edited.images_BHWC.shape).toEqual([B, H, W, 3]);
        expect(await maxAbs(edited.images_BHWC, again.images_BHWC)).toBe(0);
        const [got, want] = [await planIds(edited.plan), await planIds(reference)];
        reference.steps.forEach((step, si) => {
          const [h, w] = step.size;
          if (h * w <= 3) {
            expect(got[si], `step ${si} (${h}×${w}) is forced whole`).toEqual(want[si]);
            return;
          }
          // Grid columns whose centre lies left of W/4 (in latent units) are wholly inside the kept half.
          for (let b = 0; b < B; b++) {
            for (let y = 0; y < h; y++) {
              for (let x = 0; x < w && (x + 0.5) / w <= 0.25; x++) {
                expect(got[si]![(b * h + y) * w + x], `step ${si} (${h}×${w}) token ${y},${x}`).toBe(want[si]![(b * h + y) * w + x]);
              }
            }
          }
        });
        // Asked for another class, the hole is regenerated: its tokens leave the image's own.
        const other = await planIds(changed.plan);
        expect(other[other.length - 1]).not.toEqual(want[want.length - 1]);
        const far = await meanAbsRegion(edited.images_BHWC, recon, [0, H], [0, W / 4]);
        const hole = await meanAbsRegion(edited.images_BHWC, recon, [0, H], [W / 2, W]);
        console.log(`[${backendName()}] ${method.name} in-painting: mean |edit − recon| far ${far.toFixed(4)}, hole ${hole.toFixed(4)}`);
        expect(far).toBeLessThan(0.15);
        disposeAll(recon, reference, edited, again, changed);
      });
      tf.dispose([images_BHWC, keep_BHW]);
    });

    it('editImages out-painting: the known top rows keep their tokens and pixels; the rows below are generated', async () => {
      const { tokenizer, generator } = model;
      const { images_BHWC, labels } = references(4, 7);
      const [B, H, W] = images_BHWC.shape;
      // Only the top three quarters are known; the bottom quarter lies outside and is generated.
      const keep_BHW = tf.tidy(() => tf.pad(tf.ones([B, (3 * H) / 4, W]), [[0, 0], [0, H / 4], [0, 0]])) as tf.Tensor3D;
      await expectNoLeaks(async () => {
        const reference = await tokenizer.encode(images_BHWC);
        const recon = tokenizer.decode(reference);
        const out = await editImages(tokenizer, generator, { images_BHWC, keep_BHW, labels, seed: 5, ...SCALE_SAMPLING });
        const again = await editImages(tokenizer, generator, { images_BHWC, keep_BHW, labels, seed: 5, ...SCALE_SAMPLING });
        expect(out.images_BHWC.shape).toEqual([B, H, W, 3]);
        expect(await maxAbs(out.images_BHWC, again.images_BHWC)).toBe(0);
        const [got, want] = [await planIds(out.plan), await planIds(reference)];
        const last = got.length - 1;
        const [h, w] = reference.steps[last]!.size;
        // Rows whose centre lies within the known part, a latent row away from its edge.
        for (let b = 0; b < B; b++) {
          for (let y = 0; (y + 0.5) / h <= 0.625; y++) {
            for (let x = 0; x < w; x++) expect(got[last]![(b * h + y) * w + x], `token ${y},${x}`).toBe(want[last]![(b * h + y) * w + x]);
          }
        }
        const known = await meanAbsRegion(out.images_BHWC, recon, [0, H / 4], [0, W]);
        console.log(`[${backendName()}] ${method.name} out-painting: mean |edit − recon| in the top quarter ${known.toFixed(4)}`);
        expect(known).toBeLessThan(0.15);
        disposeAll(recon, reference, out, again);
      });
      tf.dispose([images_BHWC, keep_BHW]);
    });

    it('class-conditional editing: with only the forced coarse steps kept, the image becomes the asked class', async () => {
      const { tokenizer, generator } = model;
      const { images_BHWC, labels } = references(8, 11);
      const [B, H, W] = images_BHWC.shape;
      const target = labels.map((l) => (l + 2) % CLASSES);
      const keep_BHW = tf.zeros([B, H, W]) as tf.Tensor3D;
      await expectNoLeaks(async () => {
        const out = await editImages(tokenizer, generator, { images_BHWC, keep_BHW, labels: target, seed: 6, ...SCALE_SAMPLING });
        const accuracy = agreement(await classesOf(out.images_BHWC), target);
        console.log(`[${backendName()}] ${method.name} class-conditional edit: accuracy ${accuracy}`);
        expect(accuracy).toBeGreaterThanOrEqual(method.minAccuracy - 0.125);
        disposeAll(out);
      });
      tf.dispose([images_BHWC, keep_BHW]);
    });
  });
}

describe(`trained flexvar: refineImages and extendImages [${backendName()}]`, () => {
  let model: TinyModel<FlexVarTokenizer, FlexVarGenerator>;
  beforeAll(async () => {
    model = await loadTinyModel('flexvar');
  });
  afterAll(() => model?.dispose());

  it('refines 8×8 images at 16×16: the trained-size steps from the enlarged input, reproducible, leak-free', async () => {
    const { tokenizer, generator } = model;
    const { images_BHWC, labels } = references(4, 13);
    const f = tokenizer.downsampleFactor;
    const size: [number, number] = [2 * SHAPE_IMAGE_SIZE, 2 * SHAPE_IMAGE_SIZE];
    await expectNoLeaks(async () => {
      // The steps of the trained 8×8 schedule (1 … 4) come from the enlarged input; 6×6 and 8×8 are generated.
      const options = { images_BHWC, size, fixedSteps: 4, labels, seed: 8, topK: 4 };
      const a = await refineImages(tokenizer, generator, options);
      const again = await refineImages(tokenizer, generator, options);
      expect(a.images_BHWC.shape).toEqual([4, ...size, 3]);
      expect(a.plan.steps[a.plan.steps.length - 1]!.size).toEqual([size[0] / f, size[1] / f]);
      expect(await maxAbs(a.images_BHWC, again.images_BHWC)).toBe(0);
      const enlarged = tf.tidy(() => tf.clipByValue(resize(images_BHWC, size, 'bicubic'), -1, 1) as tf.Tensor4D);
      const reference = await tokenizer.encode(enlarged);
      expect((await planIds(a.plan)).slice(0, 4)).toEqual((await planIds(reference)).slice(0, 4));
      // The generated 6×6 and 8×8 steps differ from the enlarged input's own (the model never saw those sizes).
      expect((await planIds(a.plan)).slice(4)).not.toEqual((await planIds(reference)).slice(4));
      disposeAll(a, again, enlarged, reference);
    });
    images_BHWC.dispose();
  });

  it('extends 8×8 images to 8×16, keeping the input’s tokens where it was placed, reproducibly, leak-free', async () => {
    const { tokenizer, generator } = model;
    const { images_BHWC, labels } = references(2, 17);
    const S = SHAPE_IMAGE_SIZE;
    await expectNoLeaks(async () => {
      const options = { images_BHWC, size: [S, 2 * S] as const, offset: [0, 0] as const, labels, seed: 9, topK: 4 };
      const a = await extendImages(tokenizer, generator, options);
      const again = await extendImages(tokenizer, generator, options);
      expect(a.images_BHWC.shape).toEqual([2, S, 2 * S, 3]);
      expect(await maxAbs(a.images_BHWC, again.images_BHWC)).toBe(0);
      const canvas = tf.pad(images_BHWC, [[0, 0], [0, 0], [0, S], [0, 0]]) as tf.Tensor4D;
      const reference = await tokenizer.encode(canvas);
      const [got, want] = [await planIds(a.plan), await planIds(reference)];
      const L = got.length - 1;
      const [h, w] = a.plan.steps[L]!.size;
      expect([h, w]).toEqual([S / tokenizer.downsampleFactor, (2 * S) / tokenizer.downsampleFactor]);
      // The left quarter of the last grid lies inside the placed input, away from the bilinear seam.
      for (let b = 0; b < 2; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w / 4; x++) expect(got[L]![(b * h + y) * w + x]).toBe(want[L]![(b * h + y) * w + x]);
      disposeAll(a, again, canvas, reference);
    });
    images_BHWC.dispose();
  });
});

describe(`trained cart: generateHighResolution [${backendName()}]`, () => {
  let model: TinyModel<CartTokenizer, VarGenerator>;
  beforeAll(async () => {
    model = await loadTinyModel('cart');
  });
  afterAll(() => model?.dispose());

  it('generates at twice the trained size from the trained model: the base from the trained loop, the class kept, reproducible, leak-free', async () => {
    const { tokenizer, generator } = model;
    const size: [number, number] = [2 * SHAPE_IMAGE_SIZE, 2 * SHAPE_IMAGE_SIZE];
    await expectNoLeaks(async () => {
      const options = { labels: LABELS, seed: 4, size, ...SCALE_SAMPLING };
      const a = await generateHighResolution(tokenizer, generator, options);
      const again = await generateHighResolution(tokenizer, generator, options);
      const trained = await generate(tokenizer, generator, { labels: LABELS, seed: 4, imageSize: IMAGE_SIZE, ...SCALE_SAMPLING });
      expect(a.images_BHWC.shape).toEqual([LABELS.length, ...size, 3]);
      expect(await maxAbs(a.images_BHWC, again.images_BHWC)).toBe(0);
      const baseCount = a.basePlan.steps.length;
      expect(await planIds(a.basePlan)).toEqual((await planIds(trained.plan)).slice(0, baseCount));
      const small = tf.tidy(() => resize(a.images_BHWC, [SHAPE_IMAGE_SIZE, SHAPE_IMAGE_SIZE], 'area'));
      const accuracy = agreement(await classesOf(small), LABELS);
      console.log(`[${backendName()}] cart high resolution: class accuracy ${accuracy}`);
      expect(accuracy).toBeGreaterThanOrEqual(0.5);
      tf.dispose([a.images_BHWC, a.base_BHWC, a.fhat_BHWC, ...a.details.map((d) => d.idx_Bl)]);
      tf.dispose([again.images_BHWC, again.base_BHWC, again.fhat_BHWC, ...again.details.map((d) => d.idx_Bl)]);
      disposeAll(a.basePlan, again.basePlan, trained, small);
    });
  });
});

describe(`trained nvg (test/assets/nvg.safetensors) [${backendName()}]`, () => {
  let model: TinyModel<NvgTokenizer, NvgGenerator>;
  beforeAll(async () => {
    model = await loadTinyModel('nvg');
  });
  afterAll(() => model?.dispose());

  const NVG_SAMPLING = { structureSteps: 4, topK: 4 };

  it('generate: images of the asked class, reproducible by seed, leak-free', async () => {
    const { tokenizer, generator } = model;
    await expectNoLeaks(async () => {
      const a = await generate(tokenizer, generator, { labels: LABELS, seed: 1, ...NVG_SAMPLING });
      const again = await generate(tokenizer, generator, { labels: LABELS, seed: 1, ...NVG_SAMPLING });
      const b = await generate(tokenizer, generator, { labels: LABELS, seed: 2, ...NVG_SAMPLING });
      expect(a.images_BHWC.shape).toEqual([LABELS.length, ...tokenizer.imageSize, 3]);
      expect(a.plan.steps.map((s) => s.kind)).toEqual(tokenizer.schedule().map(() => 'granularity'));
      expect(await maxAbs(a.images_BHWC, again.images_BHWC)).toBe(0);
      expect(await planIds(a.plan)).toEqual(await planIds(again.plan));
      expect(await planIds(a.plan)).not.toEqual(await planIds(b.plan));
      const classes = [...(await classesOf(a.images_BHWC)), ...(await classesOf(b.images_BHWC))];
      const accuracy = agreement(classes, [...LABELS, ...LABELS]);
      console.log(`[${backendName()}] nvg: class accuracy ${accuracy} (${classes.join('')})`);
      expect(accuracy).toBeGreaterThanOrEqual(0.625);
      disposeAll(a, again, b);
    });
  });

  it('structure-guided generation: a left/right region map fixes stage 1 of every image; the class is still the asked one', async () => {
    const { tokenizer, generator } = model;
    const [h, w] = tokenizer.schedule()[0]!.size;
    const map = tf.tensor2d(Float32Array.from({ length: h * w }, (_, i) => (i % w < w / 2 ? 0 : 1)), [h, w]);
    await expectNoLeaks(async () => {
      const options = { labels: LABELS, seed: 3, structure: { map }, ...NVG_SAMPLING };
      const a = await generate(tokenizer, generator, options);
      const again = await generate(tokenizer, generator, options);
      expect(await maxAbs(a.images_BHWC, again.images_BHWC)).toBe(0);
      const stage1 = (await (a.plan.steps[1] as GranularityStep).labels_Bl.array()) as number[][];
      const half = Array.from({ length: h * w }, (_, i) => (i % w < w / 2 ? 0 : 1));
      for (const row of stage1) expect(row).toEqual(half);
      const accuracy = agreement(await classesOf(a.images_BHWC), LABELS);
      console.log(`[${backendName()}] nvg structure-guided: class accuracy ${accuracy}`);
      expect(accuracy).toBeGreaterThanOrEqual(0.625);
      disposeAll(a, again);
    });
    map.dispose();
  });
});
