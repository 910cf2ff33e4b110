import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, RandomGenerator, ShapeError } from '@nextdetail/core';
import { type NvgConfig, nvgConfigFor } from '../src/nvg/nvgConfig.js';
import { NvgGenerator } from '../src/nvg/nvgGenerator.js';
import { clusterTokens, logitNormalTimes, nvgContentLoss, nvgStructureLoss, NvgTrainer } from '../src/nvg/nvgTraining.js';
import { structureBits } from '../../tokenizers/src/quantizer/structureBits.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

// A five-stage NVGformer on a 4×4 latent (head width 32 = 8 + 2·4 + 8 + 8), small enough to train in seconds.
const TINY: NvgConfig = nvgConfigFor({
  stages: 5,
  cvae: 4,
  vocabSize: 8,
  numClasses: 2,
  width: 32,
  depth: 1,
  heads: 1,
  mlpRatio: 2,
  structure: { width: 32, depth: 1, heads: 1 },
  timeEmbedDim: 16,
});

describe(`NVG training steps [${backendName()}]`, () => {
  let generator: NvgGenerator;
  const stage = 2;
  let labels_BP: tf.Tensor;
  let bits_BPW: tf.Tensor;
  let canvas_BPC: tf.Tensor;
  let target_BPC: tf.Tensor;
  let tokens_BP: tf.Tensor;
  let classLabels_B: tf.Tensor;

  beforeAll(async () => {
    generator = await NvgGenerator.init(TINY, new RandomGenerator(7));
    const rng = new RandomGenerator(11);
    // Stage-2 clusters of a 4×4 latent: label = (p mod 4) >> 0 … a fixed, even split into 4 clusters of 4.
    const labels = Int32Array.from({ length: 2 * 16 }, (_, i) => (i % 16) % 4);
    labels_BP = tf.tensor2d(labels, [2, 16], 'int32');
    bits_BPW = await structureBits(labels_BP as tf.Tensor2D, stage, TINY.structureBits);
    canvas_BPC = rng.normal([2, 16, TINY.cvae], 0, 0.5);
    // Cluster k's token is (3k + item) mod V, and the final canvas is the canvas plus that token's code (as in NVG,
    // where the mean residual of a cluster is what its token quantises).
    tokens_BP = tf.tensor2d(Int32Array.from(labels, (l, i) => (3 * l + Math.floor(i / 16)) % TINY.vocabSize), [2, 16], 'int32');
    const codebook_VC = rng.normal([TINY.vocabSize, TINY.cvae]);
    target_BPC = tf.tidy(() => tf.add(canvas_BPC, tf.gather(codebook_VC, tokens_BP)));
    codebook_VC.dispose();
    classLabels_B = tf.tensor1d([0, 1], 'int32');
  });

  afterAll(() => {
    generator?.dispose();
    tf.dispose([labels_BP, bits_BPW, canvas_BPC, target_BPC, tokens_BP, classLabels_B]);
  });

  it('clusterTokens reads each cluster’s token from its positions', async () => {
    const tokens = clusterTokens(tokens_BP, labels_BP, 4);
    expect(await tokens.array()).toEqual([
      [0, 3, 6, 1],
      [1, 4, 7, 2],
    ]);
    tokens.dispose();
  });

  it('the content step (MSE on the final canvas + cluster-token CE) fits a fixed batch: loss < 0.15 within 150 Adam steps, leak-free', async () => {
    const { first, last } = await expectNoLeaks(async () => {
      const trainer = new NvgTrainer(generator, { learningRate: 2e-2 });
      const rope = await generator.contentRope(bits_BPW);
      const clusterTokens_BK = clusterTokens(tokens_BP, labels_BP, 2 ** stage);
      const batch = { canvas_BPC, labels_BP, classLabels_B, stage, rope, target_BPC, clusterTokens_BK };
      const first = await trainer.contentStep(batch);
      let last = first;
      for (let i = 0; i < 149; i++) last = await trainer.contentStep(batch);
      const after = nvgContentLoss(generator, batch);
      const finalLoss = (await after.loss.data())[0]!;
      tf.dispose([rope, clusterTokens_BK, after]);
      trainer.dispose();
      return { first, last: { ...last, loss: finalLoss } };
    });
    console.log(`[${backendName()}] content loss ${first.loss.toFixed(4)} (mse ${first.mse.toFixed(4)}, ce ${first.ce.toFixed(4)}) → ${last.loss.toFixed(4)}`);
    expect(first.ce).toBeGreaterThan(1);
    expect(last.loss).toBeLessThan(0.15);
  });

  it('the structure step (rectified-flow velocity MSE on the unknown channels) fits fixed noise and times: loss < 0.05 within 60 Adam steps, leak-free', async () => {
    const { first, last } = await expectNoLeaks(async () => {
      const rng = new RandomGenerator(5);
      const trainer = new NvgTrainer(generator, { learningRate: 1e-2 });
      // The full code of a 4×4 latent whose stage-4 label of position p is p; the stage-2 code is its prefix.
      const fullLabels = tf.tensor2d(Int32Array.from({ length: 32 }, (_, i) => ((i % 16) % 4) * 4 + Math.floor((i % 16) / 4)), [2, 16], 'int32');
      const targetBits_BPW = await structureBits(fullLabels as tf.Tensor2D, TINY.stages - 1, TINY.structureBits);
      const rope = await generator.structureRope(bits_BPW);
      const noise_BPW = rng.normal([2, 16, TINY.structureBits]);
      const t = await logitNormalTimes(rng, 2);
      const batch = { canvas_BPC, bits_BPW, targetBits_BPW, classLabels_B, stage, noise_BPW, t, rope };
      const first = await trainer.structureStep(batch);
      let last = first;
      for (let i = 0; i < 60; i++) last = await trainer.structureStep(batch);
      tf.dispose([fullLabels, targetBits_BPW, rope, noise_BPW]);
      trainer.dispose();
      return { first, last };
    });
    console.log(`[${backendName()}] structure loss ${first.toFixed(4)} → ${last.toFixed(4)}`);
    expect(first).toBeGreaterThan(0.5);
    expect(last).toBeLessThan(0.05);
  });

  it('a structure step over several batches returns their mean loss before one update, at the learning rate set before it, leak-free', async () => {
    await expectNoLeaks(async () => {
      const rng = new RandomGenerator(9);
      const fullLabels = tf.tensor2d(Int32Array.from({ length: 32 }, (_, i) => (i * 7) % 16), [2, 16], 'int32');
      const targetBits_BPW = await structureBits(fullLabels as tf.Tensor2D, TINY.stages - 1, TINY.structureBits);
      const batches = [];
      for (const s of [0, 2]) {
        const stageLabels = tf.tensor2d(Int32Array.from({ length: 32 }, (_, i) => ((i * 7) % 16) >> (4 - s)), [2, 16], 'int32');
        const bits = await structureBits(stageLabels as tf.Tensor2D, s, TINY.structureBits);
        const rope = await generator.structureRope(bits);
        const noise_BPW = rng.normal([2, 16, TINY.structureBits]);
        batches.push({ canvas_BPC, bits_BPW: bits, targetBits_BPW, classLabels_B, stage: s, noise_BPW, t: await logitNormalTimes(rng, 2), rope });
        stageLabels.dispose();
      }
      const separate = [];
      for (const b of batches) {
        const l = nvgStructureLoss(generator, b);
        separate.push((await l.data())[0]!);
        l.dispose();
      }
      const trainer = new NvgTrainer(generator, { learningRate: 1e-3 });
      const head = async () => Float32Array.from((await generator.stateDict())['structure_head.linear.weight']!.data as Float32Array);
      const before = await head();
      const mean = await trainer.structureStep(batches);
      const after = await head();
      expect(mean).toBeCloseTo((separate[0]! + separate[1]!) / 2, 5);
      expect(trainer.optimizer.stepCount).toBe(1);
      expect(after.some((x, i) => x !== before[i])).toBe(true);
      // A schedule sets the rate before each step: at 0 an update leaves the weights as they are.
      trainer.learningRate = 0;
      await trainer.structureStep(batches);
      expect(await head()).toEqual(after);
      expect(trainer.learningRate).toBe(0);
      expect(() => (trainer.learningRate = -1e-3)).toThrow(/learningRate/);
      await expect(trainer.structureStep([])).rejects.toThrow(InvalidArgumentError);
      trainer.dispose();
      tf.dispose([fullLabels, targetBits_BPW, ...batches.flatMap((b) => [b.bits_BPW, b.noise_BPW, b.rope.cos_B1TF, b.rope.sin_B1TF])]);
    });
  });

  it('a content step over several stages returns their mean losses before one update of the content weights only, leak-free', async () => {
    await expectNoLeaks(async () => {
      const batches = [];
      for (const s of [1, 2]) {
        const stageLabels = tf.tidy(() => tf.floorDiv(labels_BP, tf.scalar(4 / 2 ** s, 'int32')));
        const bits = await structureBits(stageLabels as tf.Tensor2D, s, TINY.structureBits);
        const rope = await generator.contentRope(bits);
        const clusterTokens_BK = clusterTokens(tokens_BP, stageLabels, 2 ** s);
        batches.push({ canvas_BPC, labels_BP: stageLabels, classLabels_B, stage: s, rope, target_BPC, clusterTokens_BK, bits });
      }
      const separate = batches.map((b) => nvgContentLoss(generator, b));
      const values = await Promise.all(separate.map(async (l) => [(await l.mse.data())[0]!, (await l.ce.data())[0]!] as const));
      tf.dispose(separate);
      const trainer = new NvgTrainer(generator, { learningRate: 1e-3 });
      const weights = async (name: string) => Float32Array.from((await generator.stateDict())[name]!.data as Float32Array);
      const [xHead, structureHead] = [await weights('x0_head.linear.weight'), await weights('structure_head.linear.weight')];
      const mean = await trainer.contentStep(batches);
      expect(mean.mse).toBeCloseTo((values[0]![0] + values[1]![0]) / 2, 5);
      expect(mean.ce).toBeCloseTo((values[0]![1] + values[1]![1]) / 2, 5);
      expect(mean.loss).toBeCloseTo(mean.mse + mean.ce, 5);
      expect(trainer.optimizer.stepCount).toBe(1);
      expect((await weights('x0_head.linear.weight')).some((x, i) => x !== xHead[i])).toBe(true);
      expect(await weights('structure_head.linear.weight')).toEqual(structureHead);
      await expect(trainer.contentStep([])).rejects.toThrow(InvalidArgumentError);
      trainer.dispose();
      tf.dispose(batches.flatMap((b) => [b.labels_BP, b.bits, b.rope.cos_B1TF, b.rope.sin_B1TF, b.clusterTokens_BK]));
    });
  });

  it('refuses a target of the wrong shape and mismatched times with ShapeErrors', async () => {
    const rope = await generator.contentRope(bits_BPW);
    const clusterTokens_BK = clusterTokens(tokens_BP, labels_BP, 4);
    const wrong = tf.zeros([2, 16, TINY.cvae + 1]);
    expect(() =>
      nvgContentLoss(generator, { canvas_BPC, labels_BP, classLabels_B, stage, rope, target_BPC: wrong, clusterTokens_BK }),
    ).toThrow(ShapeError);
    tf.dispose([rope, clusterTokens_BK, wrong]);
  });
});
