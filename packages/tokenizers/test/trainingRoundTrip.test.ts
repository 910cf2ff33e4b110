import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { RandomGenerator, readSafetensors } from '@nextdetail/core';
import { BaseDetailQuantizer } from '../src/quantizer/baseDetail.js';
import { CartTokenizerTrainer } from '../src/training/cartTokenizerTrainer.js';
import { FlexVarTokenizerTrainer } from '../src/training/flexVarTokenizerTrainer.js';
import { NvgTokenizerTrainer } from '../src/training/nvgTokenizerTrainer.js';
import { syntheticShapes } from '../src/training/syntheticShapes.js';
import type { StepReport } from '../src/training/trainerCore.js';
import { VarTokenizerTrainer } from '../src/training/varTokenizerTrainer.js';
import { FlexVae } from '../src/vqvae/flexVae.js';
import { NvgAutoencoder } from '../src/vqvae/nvgAutoencoder.js';
import { VarVqvae } from '../src/vqvae/varVqvae.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

// Tiny models (factor 2, 8×8 images, 4×4 latents): each step takes about a second on the cpu backend.
const VAR_VAE = { ch: 32, chMult: [1, 1], numResBlocks: 1, usingSa: false, usingMidSa: false, zChannels: 4, vocabSize: 16 };
const PATCH_NUMS = [1, 2, 4];

async function ids(list: tf.Tensor[]): Promise<number[][]> {
  return Promise.all(list.map(async (t) => Array.from(await t.data())));
}

async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = [await a.data(), await b.data()];
  return Array.from(x).reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
}

/** A step's report is complete: finite losses, and usage that counts every id of the step exactly once. */
function checkReport(report: StepReport, idsPerStep: number, vocabSize: number): void {
  for (const [name, value] of Object.entries(report.loss)) expect(Number.isFinite(value), name).toBe(true);
  expect(Number.isFinite(report.gradNorm) && report.gradNorm > 0).toBe(true);
  expect(report.usage.hits.reduce((a, b) => a + b, 0)).toBe(idsPerStep);
  expect(report.usage.deadCodes).toBe(report.usage.hits.filter((n) => n === 0).length);
  expect(report.usage.perplexity).toBeGreaterThanOrEqual(1);
  expect(report.usage.perplexity).toBeLessThanOrEqual(vocabSize + 1e-9);
}

describe(`training checkpoints load back with the official names [${backendName()}]`, () => {
  it('VarTokenizerTrainer: steps with perceptual and adversarial terms, then VarVqvae + MultiScaleResidualQuantizer reproduce its ids and reconstruction', async () => {
    await expectNoLeaks(async () => {
      const images = syntheticShapes(new RandomGenerator(1), 2, 8);
      const blur = (x: tf.Tensor4D) => tf.avgPool(x, 2, 2, 'valid');
      const trainer = VarTokenizerTrainer.create(
        { vae: VAR_VAE, patchNums: PATCH_NUMS },
        {
          seed: 3,
          optimizer: { learningRate: 1e-3, weightDecay: 0.05, clipGradNorm: 2 },
          reconstruction: { l1: 1, l2: 1 },
          perceptual: { network: (a, b) => tf.mean(tf.abs(tf.sub(blur(a), blur(b)))) as tf.Scalar, weight: 0.5 },
          discriminator: { weight: 0.1, startStep: 1, channels: 8, layers: 1 },
        },
      );
      const first = await trainer.step(images);
      const second = await trainer.step(images);
      checkReport(first, 2 * (1 + 4 + 16), 16);
      checkReport(second, 2 * (1 + 4 + 16), 16);
      expect(first.loss.generator).toBeUndefined();
      expect(second.loss.generator).toBeDefined();
      expect(first.loss.discriminator).toBeDefined();
      expect(first.loss.perceptual).toBeDefined();
      expect(trainer.usage.total).toBe(2 * 2 * 21);

      const file = await readSafetensors(await trainer.checkpoint());
      expect(file.info('encoder.conv_in.weight').shape).toEqual([32, 3, 3, 3]);
      expect(file.info('quantize.embedding.weight').shape).toEqual([16, 4]);
      expect(file.keys()).toContain('quantize.quant_resi.qresi_ls.3.weight');
      const vae = await VarVqvae.fromStateDict(file, VAR_VAE);
      const quantizer = await trainer.loadQuantizer(file);
      expect(vae.report.unused).toEqual([]);

      const mine = trainer.reconstruct(images);
      const theirs = tf.tidy(() => {
        const { idx_Bl } = quantizer.encode(vae.encode(images));
        return { idx_Bl, recon_BHWC: vae.decode(quantizer.idxToFhat(idx_Bl)) };
      });
      expect(await ids(theirs.idx_Bl)).toEqual(await ids(mine.idx_Bl));
      expect(await maxDiff(theirs.recon_BHWC, mine.recon_BHWC)).toBeLessThan(1e-4);
      tf.dispose([mine, theirs, images]);
      vae.dispose();
      quantizer.dispose();
      trainer.dispose();
    });
  });

  it('FlexVarTokenizerTrainer: seeded K-scale steps, then FlexVae + GroundTruthMultiScaleQuantizer reproduce ids and reconstructions per scale', async () => {
    await expectNoLeaks(async () => {
      const images = syntheticShapes(new RandomGenerator(2), 2, 8);
      const vaeConfig = { ch: 32, chMult: [1, 1], numResBlocks: 1, zChannels: 32, codebookEmbedDim: 4 };
      const make = () => FlexVarTokenizerTrainer.create({ vae: vaeConfig, vocabSize: 16, scalesPerStep: 3 }, { seed: 4, optimizer: { learningRate: 1e-3 } });
      const [trainer, twin] = [make(), make()];
      const reports = [await trainer.step(images), await trainer.step(images)];
      // The same seed draws the same scales and the same weights: the same losses, step for step.
      const twinReports = [await twin.step(images), await twin.step(images)];
      expect(twinReports.map((r) => r.loss.total)).toEqual(reports.map((r) => r.loss.total));
      // Three scales of a 4×4 latent: 4² plus two distinct sides from {1, 2, 3}.
      for (const r of reports) {
        const count = r.usage.hits.reduce((a, b) => a + b, 0);
        expect([1 + 4, 1 + 9, 4 + 9].map((n) => 2 * (n + 16))).toContain(count);
        checkReport(r, count, 16);
      }

      const file = await readSafetensors(await trainer.checkpoint());
      const vae = await FlexVae.fromStateDict(file, vaeConfig);
      const quantizer = await trainer.loadQuantizer(file);
      const scales = [1, 3, 4];
      const mine = trainer.reconstruct(images, scales);
      const theirs = tf.tidy(() => {
        const idx_Bl = quantizer.encode(vae.encode(images), scales);
        const recon_BHWC = idx_Bl.map((idx, k) => vae.decode(quantizer.embed(idx, scales[k]!)));
        return { idx_Bl, recon_BHWC };
      });
      expect(await ids(theirs.idx_Bl)).toEqual(await ids(mine.idx_Bl));
      for (let k = 0; k < scales.length; k++) expect(await maxDiff(theirs.recon_BHWC[k]!, mine.recon_BHWC[k]!)).toBeLessThan(1e-4);
      tf.dispose([mine, theirs, images]);
      vae.dispose();
      quantizer.dispose();
      trainer.dispose();
      twin.dispose();
    });
  });

  it('NvgTokenizerTrainer: a step on clustered structure, then NvgAutoencoder + GranularityQuantizer reproduce labels, tokens and reconstruction', async () => {
    await expectNoLeaks(async () => {
      const images = syntheticShapes(new RandomGenerator(3), 2, 8);
      const vaeConfig = { ch: 24, chMult: [1, 1], numResBlocks: 1, embedDim: 4 };
      const trainer = NvgTokenizerTrainer.create({ vae: vaeConfig, vocabSize: 16, latentSize: [4, 4] }, { seed: 5, codebookInit: 'latents' });
      checkReport(await trainer.step(images), 2 * (1 + 2 + 4 + 8 + 16), 16);

      const file = await readSafetensors(await trainer.checkpoint());
      const vae = await NvgAutoencoder.fromStateDict(file, vaeConfig);
      const quantizer = await trainer.loadQuantizer(file);
      expect(quantizer.stages).toBe(5);
      const mine = await trainer.reconstruct(images);
      const f = vae.encode(images);
      const theirs = await quantizer.encode(f);
      const recon = vae.decode(theirs.fhat_BHWC);
      expect(Array.from(await theirs.labels_BSP.data())).toEqual(Array.from(await mine.labels_BSP.data()));
      // The trainer reports each stage's cluster tokens; the quantizer spreads them over the positions.
      const tokens = (await theirs.tokens_BSP.array()) as number[][][];
      const labels = (await theirs.labels_BSP.array()) as number[][][];
      const clusterTokens = await ids(mine.idx_Bl);
      for (let b = 0; b < 2; b++)
        for (let s = 0; s < 5; s++)
          for (let p = 0; p < 16; p++) expect(tokens[b]![s]![p]).toBe(clusterTokens[s]![b * 2 ** s + labels[b]![s]![p]!]);
      expect(await maxDiff(recon, mine.recon_BHWC)).toBeLessThan(1e-4);
      tf.dispose([mine, theirs, f, recon, images]);
      vae.dispose();
      quantizer.dispose();
      trainer.dispose();
    });
  });

  it('CartTokenizerTrainer: a base-detail step, then VarVqvae + BaseDetailQuantizer.encodeImage reproduce its ids and reconstruction', async () => {
    await expectNoLeaks(async () => {
      const images = syntheticShapes(new RandomGenerator(4), 1, 8);
      const config = { vae: VAR_VAE, patchNums: PATCH_NUMS, order: 2 };
      const trainer = CartTokenizerTrainer.create(config, { seed: 6, codebookInit: 'latents' });
      // Base scales 1 + 4 + 16 ids, then one 4×4 detail map per factor.
      checkReport(await trainer.step(images), 1 + 4 + 16 + 2 * 16, 16);

      const file = await readSafetensors(await trainer.checkpoint());
      const vae = await VarVqvae.fromStateDict(file, VAR_VAE);
      const msr = await trainer.loadQuantizer(file);
      const cart = new BaseDetailQuantizer(msr);
      const mine = await trainer.reconstruct(images);
      const unit = tf.tidy(() => tf.div(tf.add(images, 1), 2) as tf.Tensor4D);
      const theirs = await cart.encodeImage(vae, unit, { order: 2 });
      const recon = vae.decode(theirs.fhat_BHWC);
      expect(theirs.steps.map((s) => s.kind)).toEqual(['base', 'base', 'base', 'detail', 'detail']);
      expect(await ids(theirs.steps.map((s) => s.idx_Bl))).toEqual(await ids(mine.ids));
      expect(await maxDiff(recon, mine.recon_BHWC)).toBeLessThan(1e-4);
      tf.dispose([mine, theirs, recon, unit, images]);
      vae.dispose();
      msr.dispose();
      trainer.dispose();
    });
  });
});
