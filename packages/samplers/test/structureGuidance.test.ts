import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, ValueRangeError } from '@nextdetail/core';
import type { GranularityStep, NvgTokenizer } from '@nextdetail/tokenizers';
import type { NvgGenerator } from '@nextdetail/transformer';
import { backendName, expectNoLeaks } from '../../../test/backend';
import { generate } from '../src/generate/imageGeneration';
import { structureFromMap } from '../src/nvg/structureGuidance';
import { disposePlan, tinyNvgPipeline } from './pipelines';

// NVG structure-guided generation (NVG paper §3.2) on the tiny five-stage pipeline: the given stages' maps are those
// of the output, the later ones refine them, and the result depends only on the seed.

const FAST = { structureSteps: 2, contentCfg: [1, 2], structureCfg: [1, 1.5] };

/** A disc of radius r·min(H, W) centred in an [H, W] float map: 1 inside, 0 outside. */
function disc(H: number, W: number, r: number): tf.Tensor2D {
  const v = Float32Array.from({ length: H * W }, (_, i) => {
    const [y, x] = [Math.floor(i / W) + 0.5 - H / 2, (i % W) + 0.5 - W / 2];
    return Math.hypot(y, x) < r * Math.min(H, W) ? 1 : 0;
  });
  return tf.tensor2d(v, [H, W]);
}

async function stageLabels(steps: readonly GranularityStep[]): Promise<number[][][]> {
  return Promise.all(steps.map(async (s) => (await s.labels_Bl.array()) as number[][]));
}

describe(`NVG structure-guided generation [${backendName()}]`, () => {
  let tokenizer: NvgTokenizer;
  let generator: NvgGenerator;
  beforeAll(async () => {
    ({ tokenizer, generator } = await tinyNvgPipeline());
  });
  afterAll(() => {
    tokenizer?.dispose();
    generator?.dispose();
  });

  it('structureFromMap resizes by nearest and ranks the ids into a hierarchy', async () => {
    await expectNoLeaks(async () => {
      const map = tf.tensor2d([[7, 7, 3, 3], [7, 7, 3, 3], [9, 9, 5, 5], [9, 9, 5, 5]]);
      const labels = await structureFromMap(map, [2, 2]);
      // ids 3, 5, 7, 9 → ranks 0, 1, 2, 3; three stages (1 + log2 4); stage 1 is the rank's top bit.
      expect(await labels.array()).toEqual([[[0, 0, 0, 0], [1, 0, 1, 0], [2, 0, 3, 1]]]);
      const wider = await structureFromMap(map, [2, 2], 4);
      expect(((await wider.array()) as number[][][])[0]![3]).toEqual([2, 0, 3, 1]);
      await expect(structureFromMap(map, [2, 2], 2)).rejects.toThrow(ValueRangeError);
      tf.dispose([map, labels, wider]);
    });
  });

  it('a binary circle mask fixes stage 1; later stages split its clusters; seeded runs agree, leak-free', async () => {
    const [h, w] = tokenizer.schedule()[0]!.size;
    const mask = disc(4 * h, 4 * w, 0.3);
    const expected = await structureFromMap(mask, [h, w]);
    const expected1 = (await expected.array())[0]![1]!;
    expected.dispose();
    expect(new Set(expected1).size).toBe(2);
    const run = (seed: number) =>
      expectNoLeaks(async () => {
        const g = await generate(tokenizer, generator, { labels: [3, 4], seed, topP: [1, 0.8], gumbelSplits: true, structure: { map: mask }, ...FAST });
        const labels = await stageLabels(g.plan.steps as GranularityStep[]);
        const ids = await Promise.all(g.plan.steps.map(async (s) => Array.from(await s.idx_Bl.data())));
        const images = Array.from(await g.images_BHWC.data());
        expect(g.images_BHWC.shape).toEqual([2, ...tokenizer.imageSize, 3]);
        g.images_BHWC.dispose();
        disposePlan(g.plan);
        tf.dispose((g.plan.steps as GranularityStep[]).map((s) => s.labels_Bl));
        return { labels, ids, images };
      });
    const a = await run(5);
    for (const item of a.labels[1]!) expect(item).toEqual(expected1);
    for (const item of a.labels[0]!) expect(item.every((l) => l === 0)).toBe(true);
    // Every later cluster lies inside one earlier cluster: its parent ⌊l/2⌋ is the previous stage's label.
    for (let s = 2; s < a.labels.length; s++) {
      a.labels[s]!.forEach((item, b) => item.forEach((l, p) => expect(l >> 1).toBe(a.labels[s - 1]![b]![p])));
      // and the structure generator did split: stage s has more clusters than stage 1.
      expect(new Set(a.labels[s]![0]).size).toBeGreaterThan(2);
    }
    const again = await run(5);
    expect(again).toEqual(a);
    mask.dispose();
  });

  it('full hierarchies fix every given stage; the rest is generated below them, leak-free', async () => {
    const P = generator.config.positions;
    const k = 3;
    // Stage 1 splits the grid into its first half and the rest; stage 2 splits each half by position parity.
    const rows = [0, 1, 2].map((s) => Array.from({ length: P }, (_, p) => (s === 0 ? 0 : s === 1 ? Number(p >= P / 2) : 2 * Number(p >= P / 2) + (p % 2))));
    const labels_BSP = tf.tensor3d([rows], [1, k, P], 'int32');
    const labels = await expectNoLeaks(async () => {
      const g = await generate(tokenizer, generator, { labels: [1], seed: 2, structure: { labels_BSP }, ...FAST });
      const out = await stageLabels(g.plan.steps as GranularityStep[]);
      g.images_BHWC.dispose();
      disposePlan(g.plan);
      tf.dispose((g.plan.steps as GranularityStep[]).map((s) => s.labels_Bl));
      return out;
    });
    for (let s = 0; s < k; s++) expect(labels[s]![0]).toEqual(rows[s]);
    for (let s = k; s < labels.length; s++) labels[s]![0]!.forEach((l, p) => expect(l >> 1).toBe(labels[s - 1]![0]![p]));
    labels_BSP.dispose();
  });

  it('refuses malformed structures with typed errors, leak-free', async () => {
    const P = generator.config.positions;
    await expectNoLeaks(async () => {
      const orphan = tf.tensor3d([[Array(P).fill(0), Array.from({ length: P }, (_, p) => p % 3)]], [1, 2, P], 'int32');
      const badParent = tf.tensor3d([[Array(P).fill(0), Array(P).fill(1), Array(P).fill(0)]], [1, 3, P], 'int32');
      const wrongP = tf.zeros([1, 2, P + 1], 'int32');
      const floats = tf.zeros([1, 2, P]);
      const wrongBatch = tf.zeros([3, 4, 4]);
      const opts = { labels: [1, 2], seed: 1, ...FAST };
      await expect(generate(tokenizer, generator, { ...opts, structure: { labels_BSP: orphan } })).rejects.toThrow(ValueRangeError);
      await expect(generate(tokenizer, generator, { ...opts, structure: { labels_BSP: badParent } })).rejects.toThrow(ValueRangeError);
      await expect(generate(tokenizer, generator, { ...opts, structure: { labels_BSP: wrongP } })).rejects.toThrow(ShapeError);
      await expect(generate(tokenizer, generator, { ...opts, structure: { labels_BSP: floats } })).rejects.toThrow(/labels_BSP/);
      await expect(generate(tokenizer, generator, { ...opts, structure: { map: wrongBatch } })).rejects.toThrow(ShapeError);
      await expect(generate(tokenizer, generator, { ...opts, structure: {} as never })).rejects.toThrow(InvalidArgumentError);
      tf.dispose([orphan, badParent, wrongP, floats, wrongBatch]);
    });
  });
});
