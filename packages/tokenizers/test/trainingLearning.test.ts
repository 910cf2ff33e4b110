import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { RandomGenerator } from '@nextdetail/core';
import { FlexVarTrainer } from '../src/training/flexVarTrainer.js';
import { NvgTrainer } from '../src/training/nvgTrainer.js';
import { syntheticShapes } from '../src/training/syntheticShapes.js';
import { VarTrainer } from '../src/training/varTrainer.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

// Each test overfits a tiny tokenizer (ch 32 or 24, two levels, 8×8 images of a rectangle and a disc, 4×4 latents)
// to two seeded images and checks that the reconstruction error of the trained weights falls well below that of the
// initial ones. Step counts are set by what the cpu backend does in about a minute on a shared 2-core machine.
const LEARNING_TIMEOUT_MS = 300_000;

async function mseOf(recon: tf.Tensor, images: tf.Tensor): Promise<number> {
  const loss = tf.tidy(() => tf.mean(tf.square(tf.sub(recon, images))));
  const [value] = await loss.data();
  loss.dispose();
  return value!;
}

describe(`tokenizer training reduces the reconstruction error [${backendName()}]`, () => {
  it(
    'VAR: 120 steps take the quantised reconstruction MSE below 0.12 and below a third of the initial error',
    { timeout: LEARNING_TIMEOUT_MS },
    async () => {
      await expectNoLeaks(async () => {
        const images = syntheticShapes(new RandomGenerator(11), 2, 8);
        const trainer = VarTrainer.create(
          { vae: { ch: 32, chMult: [1, 1], numResBlocks: 1, usingSa: false, usingMidSa: false, zChannels: 8, vocabSize: 32 }, patchNums: [1, 2, 4] },
          { seed: 1, codebookInit: 'latents', optimizer: { learningRate: 3e-3 } },
        );
        const recon = async () => {
          const { recon_BHWC, idx_Bl } = trainer.reconstruct(images);
          const error = await mseOf(recon_BHWC, images);
          tf.dispose([recon_BHWC, idx_Bl]);
          return error;
        };
        const initial = await recon();
        for (let s = 0; s < 120; s++) await trainer.step(images);
        const final = await recon();
        console.log(`[${backendName()}] VAR reconstruction MSE ${initial.toFixed(4)} → ${final.toFixed(4)}`);
        expect(initial).toBeGreaterThan(0.3);
        expect(final).toBeLessThan(0.12);
        expect(final).toBeLessThan(initial / 3);
        expect(trainer.usage.total).toBe(120 * 2 * (1 + 4 + 16));
        trainer.dispose();
        images.dispose();
      });
    },
  );

  it('FlexVAR: 50 multi-scale steps halve the full-scale reconstruction error', { timeout: LEARNING_TIMEOUT_MS }, async () => {
    await expectNoLeaks(async () => {
      const images = syntheticShapes(new RandomGenerator(12), 2, 8);
      const trainer = FlexVarTrainer.create(
        { vae: { ch: 32, chMult: [1, 1], numResBlocks: 1, zChannels: 32, codebookEmbedDim: 8 }, vocabSize: 32, scalesPerStep: 2 },
        { seed: 2, codebookInit: 'latents', optimizer: { learningRate: 3e-3 } },
      );
      const recon = async () => {
        const { recon_BHWC, idx_Bl } = trainer.reconstruct(images);
        const error = await mseOf(recon_BHWC[0]!, images);
        tf.dispose([recon_BHWC, idx_Bl]);
        return error;
      };
      const initial = await recon();
      for (let s = 0; s < 50; s++) await trainer.step(images);
      const final = await recon();
      console.log(`[${backendName()}] FlexVAR reconstruction MSE ${initial.toFixed(4)} → ${final.toFixed(4)}`);
      expect(final).toBeLessThan(initial / 2);
      trainer.dispose();
      images.dispose();
    });
  });

  it('NVG: 40 steps halve the reconstruction error through the granularity quantizer', { timeout: LEARNING_TIMEOUT_MS }, async () => {
    await expectNoLeaks(async () => {
      const images = syntheticShapes(new RandomGenerator(13), 2, 8);
      const trainer = NvgTrainer.create(
        { vae: { ch: 24, chMult: [1, 1], numResBlocks: 1, embedDim: 8 }, vocabSize: 32, latentSize: [4, 4] },
        { seed: 3, codebookInit: 'latents', optimizer: { learningRate: 3e-3 } },
      );
      const recon = async () => {
        const { recon_BHWC, labels_BSP, idx_Bl } = await trainer.reconstruct(images);
        const error = await mseOf(recon_BHWC, images);
        tf.dispose([recon_BHWC, labels_BSP, idx_Bl]);
        return error;
      };
      const initial = await recon();
      for (let s = 0; s < 40; s++) await trainer.step(images);
      const final = await recon();
      console.log(`[${backendName()}] NVG reconstruction MSE ${initial.toFixed(4)} → ${final.toFixed(4)}`);
      expect(final).toBeLessThan(initial / 2);
      trainer.dispose();
      images.dispose();
    });
  });
});
