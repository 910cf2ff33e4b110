import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CheckpointFormatError, InvalidArgumentError, RandomGenerator, readSafetensors, ShapeError } from '@nextdetail/core';
import { CartTokenizerTrainer } from '../src/training/cartTokenizerTrainer.js';
import { FlexVarTokenizerTrainer } from '../src/training/flexVarTokenizerTrainer.js';
import { NvgTokenizerTrainer } from '../src/training/nvgTokenizerTrainer.js';
import { syntheticShapes } from '../src/training/syntheticShapes.js';
import type { StepReport, TrainingOptions } from '../src/training/trainerCore.js';
import type { TrainingStateSource } from '../src/training/trainingState.js';
import { VarTokenizerTrainer } from '../src/training/varTokenizerTrainer.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

// Tiny models (factor 2, 8×8 images, 4×4 latents) so that a handful of steps takes seconds on the cpu backend.
const VAR_VAE = { ch: 32, chMult: [1, 1], numResBlocks: 1, usingSa: false, usingMidSa: false, zChannels: 4, vocabSize: 16 };

interface Resumable {
  step(images: tf.Tensor4D): Promise<StepReport>;
  trainingState(): Promise<Uint8Array>;
  resume(source: TrainingStateSource): Promise<void>;
  checkpoint(): Promise<Uint8Array>;
  readonly usage: { hits: Float64Array };
  dispose(): void;
}

const OPTIONS: TrainingOptions = { seed: 7, codebookInit: 'latents', optimizer: { learningRate: 3e-3 } };

// Every family, each with the options that add state: a discriminator (its own AdamW), random scale draws (FlexVAR).
const CASES: { name: string; make: (vocabSize?: number) => Resumable }[] = [
  {
    name: 'VarTokenizerTrainer with a discriminator',
    make: (v = 16) =>
      VarTokenizerTrainer.create(
        { vae: { ...VAR_VAE, vocabSize: v }, patchNums: [1, 2, 4] },
        { ...OPTIONS, discriminator: { startStep: 1, channels: 8, layers: 1 } },
      ),
  },
  { name: 'CartTokenizerTrainer', make: (v = 16) => CartTokenizerTrainer.create({ vae: { ...VAR_VAE, vocabSize: v }, patchNums: [1, 2, 4], order: 1 }, OPTIONS) },
  {
    name: 'FlexVarTokenizerTrainer',
    make: (v = 16) =>
      FlexVarTokenizerTrainer.create({ vae: { ch: 32, chMult: [1, 1], numResBlocks: 1, zChannels: 8, codebookEmbedDim: 4 }, vocabSize: v, scalesPerStep: 2 }, OPTIONS),
  },
  {
    name: 'NvgTokenizerTrainer',
    make: (v = 16) => NvgTokenizerTrainer.create({ vae: { ch: 24, chMult: [1, 1], numResBlocks: 1, embedDim: 4 }, vocabSize: v, latentSize: [4, 4] }, OPTIONS),
  },
];

describe(`tokenizer trainers resume exactly [${backendName()}]`, () => {
  it.each(CASES)('$name: 1 step, save, resume into a fresh trainer, 1 more step = 2 uninterrupted steps', async ({ make }) => {
    await expectNoLeaks(async () => {
      const batches = [1, 2].map((seed) => syntheticShapes(new RandomGenerator(seed), 2, 8));
      const straight = make();
      const straightLosses: number[] = [];
      for (const b of batches) straightLosses.push((await straight.step(b)).loss.total);

      const first = make();
      await first.step(batches[0]!);
      const state = await first.trainingState();
      first.dispose();
      const resumed = make();
      await resumed.resume(await readSafetensors(state));
      const resumedLosses = [straightLosses[0]!];
      for (const b of batches.slice(1)) resumedLosses.push((await resumed.step(b)).loss.total);

      expect(resumedLosses).toEqual(straightLosses);
      expect(Array.from(resumed.usage.hits)).toEqual(Array.from(straight.usage.hits));
      expect(await resumed.checkpoint()).toEqual(await straight.checkpoint());
      expect(await resumed.trainingState()).toEqual(await straight.trainingState());
      straight.dispose();
      resumed.dispose();
      tf.dispose(batches);
    });
  });

  // The checks are shared by every family (trainingState.ts): one trainer shows them.
  it('a state of another kind, family or config is refused and leaves the trainer as it was', async () => {
    const make = CASES[0]!.make;
    await expectNoLeaks(async () => {
      const trainer = make();
      const before = await trainer.trainingState();
      const checkpoint = await readSafetensors(await trainer.checkpoint());
      await expect(trainer.resume(checkpoint)).rejects.toThrow(InvalidArgumentError);
      const other = CASES.find((c) => c.make !== make)!.make();
      await expect(trainer.resume(await readSafetensors(await other.trainingState()))).rejects.toThrow(/training state of a/);
      other.dispose();
      const bigger = make(32);
      await expect(trainer.resume(await readSafetensors(await bigger.trainingState()))).rejects.toThrow(ShapeError);
      bigger.dispose();
      const stripped = await readSafetensors(before);
      const missing = { ...stripped, metadata: stripped.metadata, keys: () => stripped.keys().filter((k) => k !== 'optimizer.m.0') };
      await expect(trainer.resume(missing)).rejects.toThrow(CheckpointFormatError);
      expect(await trainer.trainingState()).toEqual(before);
      trainer.dispose();
    });
  });
});
