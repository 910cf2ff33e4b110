// Pipeline files of freshly initialised tiny models (8 × 8 images, 16 codes, one transformer block) for the CLI tests:
// the tokenizer tests' synthetic tokenizers and seeded generators, written with writePipeline as a trainer would.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { RandomGenerator, type TensorSource, writeSafetensors } from '@nextdetail/core';
import { type PipelineMethod, type PipelineParts, writePipeline } from '@nextdetail/samplers';
import { FlexVae, type FlexVaeConfig } from '@nextdetail/tokenizers';
import { FlexVarGenerator, NvgGenerator, VarGenerator } from '@nextdetail/transformer';
import { normals, nvgTokenizerSource, syntheticSource, TINY_VAR_TOKENIZER, tinyNvgQuantizerSource, tinyVarTokenizerSource } from '../../../packages/tokenizers/test/helpers';

export const METHODS = ['var', 'cart', 'flexvar', 'nvg'] as const satisfies readonly PipelineMethod[];
export const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** Every tiny pipeline makes images of this side. */
export const IMAGE_SIZE = 8;

async function sourceBytes(source: TensorSource): Promise<Uint8Array> {
  const tensors = Object.fromEntries(await Promise.all(source.keys().map(async (k) => [k, await source.tensor(k)] as const)));
  try {
    return await writeSafetensors(tensors);
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

const info = { classNames: CLASS_NAMES, imageSize: IMAGE_SIZE, training: { steps: 0 } };

async function parts(method: PipelineMethod): Promise<PipelineParts> {
  const rng = new RandomGenerator(7);
  if (method === 'var' || method === 'cart') {
    const config = { ...TINY_VAR_TOKENIZER, quantizer: { ...TINY_VAR_TOKENIZER.quantizer, patchNums: [1, 2, 3, 4] } };
    const patchNums = method === 'cart' ? [1, 2, 3, 4, 4] : [1, 2, 3, 4];
    const generator = await VarGenerator.init({ depth: 1, width: 32, heads: 1, numClasses: 10, vocabSize: 16, latentChannels: 4, patchNums }, rng);
    const tokenizerConfig = method === 'cart' ? { ...config, order: 1 } : config;
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
  const stages = 5;
  const vae = { ch: 32, chMult: [1, 1], numResBlocks: 1, embedDim: 4 };
  const generator = await NvgGenerator.init(
    {
      width: 32,
      depth: 1,
      heads: 1,
      headDim: 32,
      mlpHidden: 64,
      structureWidth: 32,
      structureDepth: 1,
      structureHeads: 1,
      structureHeadDim: 32,
      structureMlpHidden: 64,
      cvae: 4,
      vocabSize: 16,
      numClasses: 10,
      stages,
      positions: 16,
      structureBits: 4,
      structureStages: 3,
      timeEmbedDim: 16,
      ropeAxes: 7,
    },
    rng,
  );
  return { method, tokenizerStateDict: await sourceBytes(nvgTokenizerSource(vae, tinyNvgQuantizerSource(stages))), tokenizerConfig: { vae }, generator, info } as PipelineParts;
}

/** Writes `<method>.safetensors` into `dir` for each method; returns their paths. */
export async function writeTinyPipelines(dir: string, methods: readonly PipelineMethod[] = METHODS): Promise<Record<PipelineMethod, string>> {
  const paths = {} as Record<PipelineMethod, string>;
  for (const method of methods) {
    const p = await parts(method);
    try {
      paths[method] = join(dir, `${method}.safetensors`);
      writeFileSync(paths[method], await writePipeline(p));
    } finally {
      p.generator.dispose();
    }
  }
  return paths;
}
