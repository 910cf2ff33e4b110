import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type TensorSource, writeSafetensors } from '@nextdetail/core';
import { readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import {
  CartTokenizer,
  FlexVae,
  type FlexVaeConfig,
  FlexVarTokenizer,
  NvgTokenizer,
  VarTokenizer,
  varTokenizerConfigFromReference,
  type VarTokenizerConfig,
} from '@nextdetail/tokenizers';
import { FlexVarGenerator, type NvgConfig, nvgConfigFor, NvgGenerator, VarGenerator } from '@nextdetail/transformer';
import { RandomGenerator } from '@nextdetail/core';
import type { PipelineInfo, PipelineMethod, PipelineParts } from '../src/index';
import { normals, nvgTokenizerSource, syntheticSource, TINY_VAR_TOKENIZER, tinyNvgQuantizerSource, tinyVarTokenizerSource } from '../../tokenizers/test/helpers';

// Complete pipelines built from the reference fixtures (random weights), shared by the samplers tests.

/** The VQVAE fixture a `var_transformer` fixture names, as a VarTokenizer, and the transformer. */
export async function varPipeline(file: SafetensorsFile): Promise<{ tokenizer: VarTokenizer; generator: VarGenerator; images_BHWC: tf.Tensor4D }> {
  const spec = JSON.parse(file.metadata.spec_json ?? '{}') as { vae_fixture: string };
  const vaeFile = await readSafetensorsFile(join(dirname(file.name), spec.vae_fixture));
  try {
    const { VQVAE } = JSON.parse(vaeFile.metadata.config_json ?? '{}') as { VQVAE: Record<string, unknown> };
    const tokenizer = await VarTokenizer.fromStateDict(vaeFile, varTokenizerConfigFromReference(VQVAE));
    const img = await vaeFile.tensor('in.img');
    const images_BHWC = tf.transpose(img, [0, 2, 3, 1]) as tf.Tensor4D;
    img.dispose();
    return { tokenizer, generator: await VarGenerator.fromStateDict(file), images_BHWC };
  } finally {
    await vaeFile.close();
  }
}

/**
 * A FlexVAR tokenizer whose codebook is the `flexvar` fixture's (its two-level CNN has smooth synthetic weights:
 * the next-scale inputs depend only on the codebook), and the fixture's transformer.
 */
export async function flexVarPipeline(file: SafetensorsFile): Promise<{ tokenizer: FlexVarTokenizer; generator: FlexVarGenerator }> {
  const [, cv] = file.info('quantize.embedding.weight').shape as [number, number];
  const vae: FlexVaeConfig = { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 8, codebookEmbedDim: cv };
  const shapes = Object.fromEntries(Object.entries(FlexVae.stateDictSpec(vae)).map(([k, p]) => [k, [...p.shape]]));
  const cnn = syntheticSource(shapes);
  const key = 'quantize.embedding.weight';
  const source: TensorSource = {
    keys: () => [...cnn.keys(), key],
    info: (n) => (n === key ? file.info(key) : cnn.info(n)),
    tensor: (n) => (n === key ? file.tensor(key) : cnn.tensor(n)),
  };
  const { train_patch_nums } = JSON.parse(file.metadata.spec_json ?? '{}') as { train_patch_nums: number[] };
  const tokenizer = await FlexVarTokenizer.fromStateDict(source, { vae, patchNums: train_patch_nums });
  const generator = await FlexVarGenerator.fromStateDict(file, undefined, { prefix: 'flexvar.' });
  return { tokenizer, generator };
}

/**
 * A VAR pipeline that runs in milliseconds on any backend: the tokenizer tests' tiny VQVAE (8 × 8 images, factor 2,
 * 16 codes, base schedule 1, 2, 3, 4) and a freshly initialised one-block transformer for 10 classes over the
 * tokenizer's whole schedule. With `order` the tokenizer is CART's (base maps, then full-resolution detail maps).
 */
export async function tinyVarPipeline(cart?: { order: number }): Promise<{ tokenizer: VarTokenizer | CartTokenizer; generator: VarGenerator }> {
  const config = TINY_VAR_PIPELINE_TOKENIZER;
  const tokenizer = cart
    ? await CartTokenizer.fromStateDict(tinyVarTokenizerSource(), { ...config, order: cart.order })
    : await VarTokenizer.fromStateDict(tinyVarTokenizerSource(), config);
  const patchNums = tokenizer.schedule().map(({ size: [h] }) => h);
  const generator = await VarGenerator.init(
    { depth: 1, width: 32, heads: 1, numClasses: 10, vocabSize: tokenizer.vocabSize, latentChannels: tokenizer.latentChannels, patchNums },
    new RandomGenerator(0),
  );
  return { tokenizer, generator };
}

/**
 * A five-stage NVG pipeline that runs in seconds: the tokenizer tests' tiny quantizer (4 × 4 latent, 16 codes) under a
 * smooth synthetic autoencoder, and a freshly initialised one-block NVGformer for 10 classes.
 */
export async function tinyNvgPipeline(): Promise<{ tokenizer: NvgTokenizer; generator: NvgGenerator }> {
  const tokenizer = await NvgTokenizer.fromStateDict(nvgTokenizerSource(TINY_NVG_VAE, tinyNvgQuantizerSource(TINY_NVG_STAGES)), { vae: TINY_NVG_VAE });
  return { tokenizer, generator: await NvgGenerator.init(tinyNvgConfig(tokenizer), new RandomGenerator(0)) };
}

/** The tiny NVG pipeline's autoencoder and stage count. */
export const TINY_NVG_VAE = { ch: 32, chMult: [1, 1], numResBlocks: 1, embedDim: 4 };
export const TINY_NVG_STAGES = 5;

/** A one-block NVGformer for `numClasses` classes over `tokenizer`'s latent and codes. */
export function tinyNvgConfig(tokenizer: { latentChannels: number; vocabSize: number }, numClasses = 10): NvgConfig {
  return nvgConfigFor({
    stages: TINY_NVG_STAGES,
    cvae: tokenizer.latentChannels,
    vocabSize: tokenizer.vocabSize,
    numClasses,
    width: 32,
    depth: 1,
    heads: 1,
    mlpRatio: 2,
    structure: { width: 32, depth: 1, heads: 1 },
    timeEmbedDim: 16,
  });
}

export async function labelsOf(file: SafetensorsFile): Promise<number[]> {
  const t = await file.tensor('in.label');
  const out = Array.from(await t.data());
  t.dispose();
  return out;
}

export async function planIds(plan: { steps: { idx_Bl: tf.Tensor }[] }): Promise<number[][]> {
  return Promise.all(plan.steps.map(async (s) => Array.from(await s.idx_Bl.data())));
}

export function disposePlan(plan: { steps: { idx_Bl: tf.Tensor }[] }): void {
  tf.dispose(plan.steps.map((s) => s.idx_Bl));
}

/** A tensor source serialised as safetensors bytes, the form `writePipeline` takes a tokenizer state dict in. */
export async function sourceBytes(source: TensorSource): Promise<Uint8Array> {
  const tensors = Object.fromEntries(await Promise.all(source.keys().map(async (k) => [k, await source.tensor(k)] as const)));
  try {
    return await writeSafetensors(tensors);
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/** The tiny VAR tokenizer's config over the schedule 1, 2, 3, 4. */
export const TINY_VAR_PIPELINE_TOKENIZER: VarTokenizerConfig = { ...TINY_VAR_TOKENIZER, quantizer: { ...TINY_VAR_TOKENIZER.quantizer, patchNums: [1, 2, 3, 4] } };

/**
 * `writePipeline`'s parts for a tiny pipeline of every method (8 × 8 images, 16 codes, one transformer block, 10
 * classes): the synthetic tokenizers of the tokenizer tests (CART of order 1) and a generator initialised from `seed`.
 * The caller disposes the generator.
 */
export async function tinyPipelineParts(method: PipelineMethod, info: PipelineInfo, seed: number): Promise<PipelineParts> {
  const rng = new RandomGenerator(seed);
  if (method === 'var' || method === 'cart') {
    const patchNums = method === 'cart' ? [1, 2, 3, 4, 4] : [1, 2, 3, 4];
    const generator = await VarGenerator.init({ depth: 1, width: 32, heads: 1, numClasses: 10, vocabSize: 16, latentChannels: 4, patchNums }, rng);
    const tokenizerConfig = method === 'cart' ? { ...TINY_VAR_PIPELINE_TOKENIZER, order: 1 } : TINY_VAR_PIPELINE_TOKENIZER;
    return { method, tokenizerStateDict: await sourceBytes(tinyVarTokenizerSource()), tokenizerConfig, generator, info } as PipelineParts;
  }
  if (method === 'flexvar') {
    const vae: FlexVaeConfig = { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 8, codebookEmbedDim: 4 };
    const shapes = Object.fromEntries(Object.entries(FlexVae.stateDictSpec(vae)).map(([k, p]) => [k, [...p.shape]]));
    const cnn = syntheticSource(shapes, 0.1);
    const key = 'quantize.embedding.weight';
    const source: TensorSource = {
      keys: () => [...cnn.keys(), key],
      info: (n) => (n === key ? { dtype: 'F32', shape: [16, 4] } : cnn.info(n)),
      tensor: async (n) => (n === key ? tf.tensor2d(normals(64, 9), [16, 4]) : cnn.tensor(n)),
    };
    const generator = await FlexVarGenerator.init({ depth: 1, width: 32, heads: 1, numClasses: 10, vocabSize: 16, latentChannels: 4, positionSide: 8 }, rng);
    return { method, tokenizerStateDict: await sourceBytes(source), tokenizerConfig: { vae, patchNums: [1, 2, 3, 4] }, generator, info } as PipelineParts;
  }
  const generator = await NvgGenerator.init(tinyNvgConfig({ latentChannels: TINY_NVG_VAE.embedDim, vocabSize: 16 }), rng);
  const tokenizerStateDict = await sourceBytes(nvgTokenizerSource(TINY_NVG_VAE, tinyNvgQuantizerSource(TINY_NVG_STAGES)));
  return { method, tokenizerStateDict, tokenizerConfig: { vae: TINY_NVG_VAE }, generator, info } as PipelineParts;
}
