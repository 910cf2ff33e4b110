// Pipeline files of freshly initialised tiny models (8 × 8 images, 16 codes, one transformer block) for the CLI tests:
// the tokenizer tests' synthetic tokenizers and seeded generators, written with writePipeline as a trainer would.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
// The full tfjs package registers the backends the pipelines are built on, as in the app.
import '@tensorflow/tfjs';
import { type PipelineMethod, writePipeline } from '@nextdetail/samplers';
import { tinyPipelineParts } from '../../../packages/samplers/test/pipelines';

export const METHODS = ['var', 'cart', 'flexvar', 'nvg'] as const satisfies readonly PipelineMethod[];
export const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** Every tiny pipeline makes images of this side. */
export const IMAGE_SIZE = 8;

const info = { classNames: CLASS_NAMES, imageSize: IMAGE_SIZE, training: { steps: 0 } };

/** Writes `<method>.safetensors` into `dir` for each method; returns their paths. */
export async function writeTinyPipelines(dir: string, methods: readonly PipelineMethod[] = METHODS): Promise<Record<PipelineMethod, string>> {
  const paths = {} as Record<PipelineMethod, string>;
  for (const method of methods) {
    const p = await tinyPipelineParts(method, info, 7);
    try {
      paths[method] = join(dir, `${method}.safetensors`);
      writeFileSync(paths[method], await writePipeline(p));
    } finally {
      p.generator.dispose();
    }
  }
  return paths;
}
