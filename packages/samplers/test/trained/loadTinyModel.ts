import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { CartTokenizer, FlexVarTokenizer, NvgTokenizer, VarTokenizer } from '@nextdetail/tokenizers';
import type { FlexVarGenerator, NvgGenerator, VarGenerator } from '@nextdetail/transformer';
import { disposePipeline, loadPipeline, type PipelineInfo } from '../../src/index';

// The tiny trained models of test/assets (written by scripts/train-tiny-models.mjs): pipeline files, one per method.

export type TinyMethod = 'var' | 'cart' | 'flexvar' | 'nvg';

export type TinyModel<T, G> = {
  tokenizer: T;
  generator: G;
  /** Class names, image size and the training record (dataset, seed, steps, final losses). */
  info: PipelineInfo;
  dispose(): void;
};

type Loaded = {
  var: TinyModel<VarTokenizer, VarGenerator>;
  cart: TinyModel<CartTokenizer, VarGenerator>;
  flexvar: TinyModel<FlexVarTokenizer, FlexVarGenerator>;
  nvg: TinyModel<NvgTokenizer, NvgGenerator>;
};

export function tinyModelPath(method: TinyMethod): string {
  return fileURLToPath(new URL(`../assets/${method}.safetensors`, import.meta.url));
}

/** The tokenizer and generator of one method's shipped file; `dispose()` frees both. */
export async function loadTinyModel<M extends TinyMethod>(method: M): Promise<Loaded[M]> {
  const pipeline = await loadPipeline(await readFile(tinyModelPath(method)));
  if (pipeline.method !== method) {
    disposePipeline(pipeline);
    throw new Error(`${tinyModelPath(method)} holds a ${pipeline.method} pipeline`);
  }
  const { tokenizer, generator, info } = pipeline;
  return { tokenizer, generator, info, dispose: () => disposePipeline(pipeline) } as Loaded[M];
}
