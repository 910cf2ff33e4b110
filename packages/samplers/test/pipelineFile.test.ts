import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CheckpointFormatError,
  InvalidArgumentError,
  RandomGenerator,
  readSafetensors,
  type TensorSource,
  writeSafetensors,
} from '@nextdetail/core';
import { CartTokenizer, NvgTokenizer, VarTokenizer } from '@nextdetail/tokenizers';
import { NvgGenerator, VarGenerator } from '@nextdetail/transformer';
import { backendName, expectNoLeaks } from '../../../test/backend';
import { nvgTokenizerSource, TINY_VAR_TOKENIZER, tinyNvgQuantizerSource, tinyVarTokenizerSource } from '../../tokenizers/test/helpers';
import { disposePipeline, generate, loadPipeline, type Pipeline, type PipelineParts, writePipeline } from '../src/index';
import { planIds, TINY_NVG_STAGES, TINY_NVG_VAE, tinyNvgConfig } from './pipelines';

// A pipeline file round trip: the loaded tokenizer and generator generate exactly what the written ones do.

async function sourceBytes(source: TensorSource): Promise<Uint8Array> {
  const tensors = Object.fromEntries(await Promise.all(source.keys().map(async (k) => [k, await source.tensor(k)] as const)));
  try {
    return await writeSafetensors(tensors);
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

const info = {
  classNames: Array.from({ length: 10 }, (_, i) => `class ${i}`),
  imageSize: 8,
  training: { steps: 0 },
};
const varConfig = {
  ...TINY_VAR_TOKENIZER,
  quantizer: { ...TINY_VAR_TOKENIZER.quantizer, patchNums: [1, 2, 3, 4] },
};

async function varParts(method: 'var' | 'cart'): Promise<PipelineParts<'var' | 'cart'>> {
  const tokenizerConfig = method === 'cart' ? { ...varConfig, order: 1 } : varConfig;
  const steps = method === 'cart' ? 5 : 4;
  const generator = await VarGenerator.init(
    {
      depth: 1,
      width: 32,
      heads: 1,
      numClasses: 10,
      vocabSize: 16,
      latentChannels: varConfig.quantizer.cvae,
      patchNums: [1, 2, 3, 4, 4].slice(0, steps),
    },
    new RandomGenerator(1),
  );
  return {
    method,
    tokenizerStateDict: await sourceBytes(tinyVarTokenizerSource()),
    tokenizerConfig,
    generator,
    info,
  };
}

describe(`pipeline files [${backendName()}]`, () => {
  const open: Pipeline[] = [];
  afterAll(() => open.forEach(disposePipeline));

  for (const method of ['var', 'cart'] as const) {
    it(`${method}: writePipeline → loadPipeline generates the same images from the same seed, leak-free`, async () => {
      const parts = await varParts(method);
      const bytes = await expectNoLeaks(() => writePipeline(parts));
      const loaded = await loadPipeline(bytes);
      open.push(loaded);
      expect(loaded.method).toBe(method);
      expect(loaded.info).toEqual(info);
      expect(loaded.generator.config).toEqual(parts.generator.config);
      const options = { labels: [3, 7], seed: 5, topK: 4, cfg: 1.5 };
      const tokenizer =
        method === 'cart'
          ? await CartTokenizer.fromStateDict(tinyVarTokenizerSource(), {
              ...varConfig,
              order: 1,
            })
          : await VarTokenizer.fromStateDict(tinyVarTokenizerSource(), varConfig);
      if (loaded.method !== 'var' && loaded.method !== 'cart') throw new Error(`loaded a ${loaded.method} pipeline`);
      const [original, again] = [
        await generate(tokenizer, parts.generator, options),
        await generate(loaded.tokenizer, loaded.generator, options),
      ];
      expect(await planIds(again.plan)).toEqual(await planIds(original.plan));
      expect(Array.from(await again.images_BHWC.data())).toEqual(Array.from(await original.images_BHWC.data()));
      tf.dispose([original.images_BHWC, again.images_BHWC, original.plan, again.plan]);
      parts.generator.dispose();
      tokenizer.dispose();
      await expectNoLeaks(async () => disposePipeline(await loadPipeline(new Blob([bytes.slice()]))));
    });
  }

  it('nvg: the NVGformer and the autoencoder round-trip, generation identical from the same seed', async () => {
    const vae = TINY_NVG_VAE;
    const tokenizerStateDict = await sourceBytes(nvgTokenizerSource(vae, tinyNvgQuantizerSource(TINY_NVG_STAGES)));
    const generator = await NvgGenerator.init(tinyNvgConfig({ latentChannels: vae.embedDim, vocabSize: 16 }), new RandomGenerator(2));
    const bytes = await writePipeline({
      method: 'nvg',
      tokenizerStateDict,
      tokenizerConfig: { vae },
      generator,
      info,
    });
    const loaded = await loadPipeline(bytes);
    open.push(loaded);
    if (loaded.method !== 'nvg') throw new Error(`loaded a ${loaded.method} pipeline`);
    expect(loaded.generator.config).toEqual(generator.config);
    const options = { labels: [1], seed: 3, topK: 4, structureSteps: 2 };
    const tokenizer = await NvgTokenizer.fromStateDict(nvgTokenizerSource(vae, tinyNvgQuantizerSource(TINY_NVG_STAGES)), { vae });
    const a = await generate(tokenizer, generator, options);
    const b = await generate(loaded.tokenizer, loaded.generator, options);
    expect(await planIds(b.plan)).toEqual(await planIds(a.plan));
    expect(Array.from(await b.images_BHWC.data())).toEqual(Array.from(await a.images_BHWC.data()));
    tf.dispose([a.images_BHWC, b.images_BHWC, a.plan, b.plan]);
    generator.dispose();
    tokenizer.dispose();
  });

  it('rejects files that are not pipelines and malformed metadata with typed errors naming the problem', async () => {
    const plain = await writeSafetensors({ x: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, { kind: 'something' });
    await expect(loadPipeline(plain)).rejects.toThrow(CheckpointFormatError);
    await expect(loadPipeline(plain)).rejects.toThrow(/not a pipeline file.*"something"/);
    const parts = await varParts('var');
    try {
      const good = await readSafetensors(await writePipeline(parts));
      const tensors = Object.fromEntries(await Promise.all(good.keys().map(async (k) => [k, await good.rawTensor(k)] as const)));
      const rewrite = (metadata: Record<string, string>) =>
        writeSafetensors(tensors as Parameters<typeof writeSafetensors>[0], {
          ...good.metadata,
          ...metadata,
        });
      await expect(loadPipeline(await rewrite({ method: 'dalle' }))).rejects.toThrow(/method "dalle"/);
      await expect(loadPipeline(await rewrite({ info: '{' }))).rejects.toThrow(/info is not JSON/);
      await expect(loadPipeline(await rewrite({ info: '{"classNames":[1],"imageSize":8}' }))).rejects.toThrow(/classNames/);
      await good.close();
      await expect(writePipeline({ ...parts, method: 'gpt' as 'var' })).rejects.toThrow(InvalidArgumentError);
      await expect(writePipeline({ ...parts, info: { classNames: [], imageSize: 0 } })).rejects.toThrow(/parts\.info.*imageSize/);
    } finally {
      parts.generator.dispose();
    }
  });
});
