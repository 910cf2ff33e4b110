import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { RandomGenerator, readSafetensors } from '@nextdetail/core';
import { FlexVarGenerator } from '../src/flexVarGenerator.js';
import { GeneratorTrainer, type TrainingBatch } from '../src/training/generatorTrainer.js';
import { VarGenerator } from '../src/varGenerator.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { syntheticTokens } from './syntheticTokens.js';

// Learning tests: tiny generators on a synthetic token dataset (4 classes, 16 codes) must drive the teacher-forced
// cross-entropy from ln 16 ≈ 2.77 to well below it. Thresholds leave room for backend rounding.
const LONG = 900_000;
const CLASSES = 4;
const VOCAB = 16;
const CV = 4;
const BATCH = 8;
const data = syntheticTokens(3, CLASSES, VOCAB, CV);

function batchOf(rng: RandomGenerator, scales: number[]): TrainingBatch {
  const labels = Array.from(rng.words(BATCH), (w) => w % CLASSES);
  return { labels, scales, ...data.batch(labels, scales.map((p) => [p, p] as const)) };
}

async function train(trainer: GeneratorTrainer, steps: number, rng: RandomGenerator, schedule: () => number[]): Promise<number[]> {
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const batch = batchOf(rng, schedule());
    try {
      losses.push((await trainer.trainStep(batch)).loss);
    } finally {
      tf.dispose([batch.input_BLCv, batch.target_BL]);
    }
    // Synchronous backends never yield inside a step; let the test runner's messages through.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return losses;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const tiny = { depth: 2, width: 32, numClasses: CLASSES, vocabSize: VOCAB, latentChannels: CV };

describe(`generator training [${backendName()}]`, () => {
  it('VAR (depth 2, width 32) learns the synthetic tokens: mean loss of the last 10 of 120 steps < 0.6', async () => {
    const model = await VarGenerator.init({ ...tiny, patchNums: [1, 2, 3, 4] }, new RandomGenerator(5), { initAdaLnGamma: 1e-3 });
    const trainer = new GeneratorTrainer(model, { schedule: { peak: 3e-3, warmupSteps: 10, totalSteps: 120 }, seed: 1 });
    try {
      const losses = await expectNoLeaks(() => train(trainer, 120, new RandomGenerator(9), () => [1, 2, 3, 4]));
      expect(losses[0]).toBeGreaterThan(2.5);
      expect(mean(losses.slice(-10))).toBeLessThan(0.6);
    } finally {
      trainer.dispose();
      model.dispose();
    }
  }, LONG);

  it('FlexVAR (depth 2, width 32) learns with a random schedule of K scales per step: last 10 of 120 steps < 1.2', async () => {
    const model = await FlexVarGenerator.init({ ...tiny, positionSide: 8 }, new RandomGenerator(5), { initAdaLnGamma: 1e-3 });
    const trainer = new GeneratorTrainer(model, { schedule: { peak: 3e-3, warmupSteps: 10, totalSteps: 120 }, seed: 1 });
    const pick = new RandomGenerator(11);
    // FlexVAR's training schedules: 1, then a sorted random subset of the larger sides (trainer.py gen_curr_patch_nums).
    const schedule = () => {
      const pool = [2, 3, 4, 5, 6];
      const k = 2 + (pick.words(1)[0]! % 3);
      const u = pick.uniformArray(pool.length);
      const chosen = pool.map((p, i) => [u[i]!, p] as const).sort((a, b) => a[0] - b[0]).slice(0, k).map(([, p]) => p);
      return [1, ...chosen.sort((a, b) => a - b)];
    };
    try {
      const losses = await expectNoLeaks(() => train(trainer, 120, new RandomGenerator(9), schedule));
      expect(losses[0]).toBeGreaterThan(2.5);
      expect(mean(losses.slice(-10))).toBeLessThan(1.2);
    } finally {
      trainer.dispose();
      model.dispose();
    }
  }, LONG);

  it('a checkpoint (safetensors: model, AdamW moments, step, RNG) resumes training exactly and loads as a model', async () => {
    const config = { ...tiny, depth: 1, patchNums: [1, 2, 3] };
    const options = { schedule: { peak: 1e-3, warmupSteps: 2, totalSteps: 10 }, seed: 4, conditionDropout: 0.5, labelSmoothing: 0.1 };
    const a = await VarGenerator.init(config, new RandomGenerator(1));
    const b = await VarGenerator.init(config, new RandomGenerator(2));
    const trainerA = new GeneratorTrainer(a, options);
    const trainerB = new GeneratorTrainer(b, options);
    try {
      await train(trainerA, 2, new RandomGenerator(3), () => [1, 2, 3]);
      const bytes = await trainerA.checkpoint();
      const lossesA = await train(trainerA, 2, new RandomGenerator(4), () => [1, 2, 3]);
      const file = await readSafetensors(bytes);
      expect(file.metadata.step).toBe('2');
      expect(file.keys().filter((k) => k.startsWith('optimizer.exp_avg.')).length).toBe(a.params.names().length);
      await trainerB.resume(file);
      expect(trainerB.step).toBe(2);
      const lossesB = await train(trainerB, 2, new RandomGenerator(4), () => [1, 2, 3]);
      expect(lossesB).toEqual(lossesA.map((l) => expect.closeTo(l, 5)));
      for (const name of a.params.names()) {
        const [pa, pb] = await Promise.all([a.params.get(name).data(), b.params.get(name).data()]);
        const worst = Array.from(pa).reduce((m, v, i) => Math.max(m, Math.abs(v - pb[i]!)), 0);
        expect(worst, name).toBeLessThan(1e-5);
      }
      const loaded = await VarGenerator.fromStateDict(file);
      expect(loaded.config).toEqual(a.config);
      expect(loaded.report.unused.every((k) => k.startsWith('optimizer.'))).toBe(true);
      loaded.dispose();
      await file.close();
    } finally {
      trainerA.dispose();
      trainerB.dispose();
      a.dispose();
      b.dispose();
    }
  }, LONG);
});
