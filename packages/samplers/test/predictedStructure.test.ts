import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, RandomGenerator } from '@nextdetail/core';
import { bisectClusters, type NvgTokenizer } from '@nextdetail/tokenizers';
import type { NvgGenerator } from '@nextdetail/transformer';
import { nvgGenerate } from '../src/nvg/nvgGenerate.js';
import type { NvgNetworks } from '../src/nvg/nvgNetworks.js';
import { nvgStage, type NvgStageResult } from '../src/nvg/nvgStage.js';
import { guidedPrediction } from '../src/nvg/predictedStructure.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { tinyNvgPipeline } from './pipelines.js';

/** The generator's networks with a structure network that fails if called: the prediction source must not need it. */
function withoutStructure(generator: NvgGenerator): NvgNetworks {
  const fail = () => {
    throw new Error('the structure network was called');
  };
  return {
    config: generator.config,
    content: generator.content,
    structure: { apply: fail },
    contentRope: (bits) => generator.contentRope(bits),
    structureRope: fail,
  };
}

function disposeStage(r: NvgStageResult): void {
  tf.dispose([r.logits_BKV, r.tokens_BP, r.tokens_BSP, r.canvas_BPC, ...(r.nextLabels_BP ? [r.nextLabels_BP] : [])]);
}

async function argumentOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(InvalidArgumentError);
  return (error as InvalidArgumentError).argument;
}

describe(`NVG structure from the content prediction [${backendName()}]`, () => {
  let tokenizer: NvgTokenizer;
  let generator: NvgGenerator;
  let networks: NvgNetworks;
  const classLabels_B = () => tf.tensor1d([3, 7], 'int32');

  beforeAll(async () => {
    ({ tokenizer, generator } = await tinyNvgPipeline());
    networks = withoutStructure(generator);
  });
  afterAll(() => {
    tokenizer?.dispose();
    generator?.dispose();
  });

  /** Stage 1 of a batch of two, from a stage-0 token and a fixed stage-1 map. */
  async function stageOne(refinements: number, contentCfg: number | null = 2): Promise<{ next: number[]; canvas: tf.Tensor; labels_BP: tf.Tensor; tokens_BSP: tf.Tensor }> {
    const c = networks.config;
    // Token 5 everywhere at stage 0; stage 1 splits the positions into their first and second halves.
    const tokens_BSP = tf.tidy(() => tf.cast(tf.mul(tf.reshape(tf.oneHot(tf.tensor1d([0, 0], 'int32'), c.stages), [2, c.stages, 1]), tf.fill([2, c.stages, c.positions], 5)), 'int32'));
    const labels_BP = tf.tidy(() => tf.cast(tf.greaterEqual(tf.tile(tf.reshape(tf.range(0, c.positions), [1, c.positions]), [2, 1]), c.positions / 2), 'int32'));
    const classes = classLabels_B();
    const noise = tf.zeros([2, c.positions, c.structureBits]);
    const r = await nvgStage(
      networks,
      tokenizer.quantizer,
      { tokens_BSP, labels_BP, classLabels_B: classes, stage: 1, structureNoise_BPW: noise },
      { contentCfg, structureCfg: 3, structureSteps: 1, topK: 1, structureSource: 'prediction', structureRefinements: refinements },
    );
    const next = Array.from(await r.nextLabels_BP!.data());
    const canvas = tf.clone(r.canvas_BPC);
    disposeStage(r);
    tf.dispose([classes, noise]);
    return { next, canvas, labels_BP, tokens_BSP };
  }

  it('bisects every cluster by the stage\'s x0 under the structure CFG into equal halves inside their parent, without the structure network, leak-free', async () => {
    await expectNoLeaks(async () => {
      const { next, canvas, labels_BP, tokens_BSP } = await stageOne(0);
      const parents = Array.from(await labels_BP.data());
      const counts = new Map<number, number>();
      next.forEach((l, i) => {
        expect(Math.floor(l / 2)).toBe(parents[i]);
        counts.set(l, (counts.get(l) ?? 0) + 1);
      });
      expect([...counts.keys()].sort()).toEqual([0, 1, 2, 3]);
      // Counted over both items: every child holds a quarter of each item's positions.
      expect(new Set(counts.values())).toEqual(new Set([2 * (networks.config.positions / 4)]));
      // The same split from the public pieces: guidedPrediction at stage 1 (structure CFG 3) on the canvas entering it,
      // then bisectClusters.
      const classes = classLabels_B();
      const canvasIn = tf.tidy(() => {
        const input = tokenizer.quantizer.trainingInput(tokens_BSP as tf.Tensor3D, tf.zerosLike(tokens_BSP) as tf.Tensor3D);
        const { positions, cvae } = networks.config;
        return tf.reshape(tf.slice(input, [0, 1, 0, 0], [-1, 1, -1, cvae]), [2, positions, cvae]);
      });
      const x0 = await guidedPrediction(networks, { canvas_BPC: canvasIn, labels_BP, classLabels_B: classes, stage: 1, cfg: 3 });
      const expected = await bisectClusters(labels_BP, x0, 1);
      expect(next).toEqual(Array.from(await expected.data()));
      // Without content guidance the pass has no unconditional branch; the split, guided by the structure scale, is the same.
      const unguided = await stageOne(0, null);
      expect(unguided.next).toEqual(next);
      tf.dispose([unguided.canvas, unguided.labels_BP, unguided.tokens_BSP]);
      tf.dispose([canvas, labels_BP, tokens_BSP, classes, canvasIn, x0, expected]);
    });
  });

  it('each refinement re-bisects the parents by the next stage\'s x0 under the previous map', async () => {
    const classes = classLabels_B();
    for (const k of [1, 2]) {
      const before = await stageOne(k - 1);
      const after = await stageOne(k);
      const previous_BP = tf.tensor2d(before.next, [2, networks.config.positions], 'int32');
      const x1 = await guidedPrediction(networks, { canvas_BPC: before.canvas, labels_BP: previous_BP, classLabels_B: classes, stage: 2, cfg: 3 });
      const expected = await bisectClusters(before.labels_BP, x1, 1);
      expect(after.next, `refinement ${k}`).toEqual(Array.from(await expected.data()));
      // With these seeded weights the first refinement moves some positions, so the check above is not vacuous.
      if (k === 1) expect(after.next).not.toEqual(before.next);
      tf.dispose([previous_BP, x1, expected, before.canvas, before.labels_BP, before.tokens_BSP, after.canvas, after.labels_BP, after.tokens_BSP]);
    }
    classes.dispose();
  });

  it('nvgGenerate with the prediction source is reproducible from its seed and builds a valid hierarchy, leak-free', async () => {
    const run = () =>
      expectNoLeaks(async () => {
        const classes = classLabels_B();
        const gen = await nvgGenerate(networks, tokenizer.quantizer, classes, {
          structureSource: 'prediction',
          structureRefinements: 2,
          topP: [1, 0.8],
          rng: new RandomGenerator(9),
        });
        const out = { labels: Array.from(await gen.labels_BSP.data()), tokens: Array.from(await gen.tokens_BSP.data()) };
        tf.dispose([classes, gen.labels_BSP, gen.tokens_BSP, gen.canvas_BPC, ...gen.logits]);
        return out;
      });
    const [a, b] = [await run(), await run()];
    expect(a).toEqual(b);
    const { stages, positions } = networks.config;
    for (let i = 0; i < 2; i++)
      for (let s = 1; s < stages; s++) {
        const counts = new Map<number, number>();
        for (let p = 0; p < positions; p++) {
          const l = a.labels[(i * stages + s) * positions + p]!;
          expect(Math.floor(l / 2)).toBe(a.labels[(i * stages + s - 1) * positions + p]);
          counts.set(l, (counts.get(l) ?? 0) + 1);
        }
        expect(counts.size, `item ${i} stage ${s}`).toBe(2 ** s);
      }
  });

  it('refuses an unknown source, bad refinement counts and Gumbel splits with the prediction source, naming the option', async () => {
    await expectNoLeaks(async () => {
      const classes = classLabels_B();
      const rng = new RandomGenerator(0);
      const go = (options: Parameters<typeof nvgGenerate>[3]) => nvgGenerate(networks, tokenizer.quantizer, classes, { rng, ...options });
      expect(await argumentOf(go({ structureSource: 'x0' as 'flow' }))).toBe('structureSource');
      expect(await argumentOf(go({ structureSource: 'prediction', structureRefinements: -1 }))).toBe('structureRefinements');
      expect(await argumentOf(go({ structureSource: 'prediction', structureRefinements: 1.5 }))).toBe('structureRefinements');
      expect(await argumentOf(go({ structureSource: 'prediction', gumbelSplits: true }))).toBe('gumbelSplits');
      classes.dispose();
    });
  });
});
