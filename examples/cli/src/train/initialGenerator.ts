import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, readSafetensors, type SafetensorsFile } from '@nextdetail/core';
import { disposePipeline, loadPipeline, type PipelineMethod } from '@nextdetail/samplers';
import type { FlexVarGenerator, NvgGenerator, VarGenerator } from '@nextdetail/transformer';

const FLAG = '--init';
/** Float16 storage keeps about 3 significant digits; other weights differ far more. */
const TOKENIZER_TOLERANCE = 1e-3;

/**
 * The generator of the pipeline file at `path`, to fine-tune: it must be of `method`, have the config the run would
 * build (`config`'s every field equal), and hold the run's tokenizer (`tokenizer`, the --tokenizer file's tensors),
 * since its tokens mean nothing to another tokenizer. The caller owns the result.
 */
export async function initialGenerator(
  path: string,
  method: PipelineMethod,
  config: object,
  tokenizer: SafetensorsFile,
): Promise<VarGenerator | FlexVarGenerator | NvgGenerator> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new InvalidArgumentError(FLAG, 'a pipeline file (model.safetensors written by train)', `${JSON.stringify(path)} (${(err as Error).message})`);
  }
  const file = await readSafetensors(bytes);
  try {
    if (file.metadata.method !== method) {
      throw new InvalidArgumentError(FLAG, `a ${method} pipeline file (the --tokenizer's method)`, `${path}: method ${JSON.stringify(file.metadata.method)}`);
    }
    await checkSameTokenizer(path, file, tokenizer);
  } finally {
    await file.close();
  }
  const pipeline = await loadPipeline(bytes);
  pipeline.tokenizer.dispose();
  const generator = pipeline.generator;
  const theirs = generator.config as unknown as Record<string, unknown>;
  const differing = Object.entries(config).filter(([key, value]) => JSON.stringify(theirs[key]) !== JSON.stringify(value));
  if (differing.length > 0) {
    disposePipeline(pipeline);
    const list = (pick: (key: string, value: unknown) => unknown) => differing.map(([k, v]) => `${k} ${JSON.stringify(pick(k, v))}`).join(', ');
    throw new InvalidArgumentError(FLAG, `a generator of the preset's sizes (${list((_, v) => v)})`, `${path}: ${list((k) => theirs[k])}`);
  }
  return generator;
}

async function checkSameTokenizer(path: string, pipeline: SafetensorsFile, tokenizer: SafetensorsFile): Promise<void> {
  for (const name of tokenizer.keys()) {
    const key = `tokenizer.${name}`;
    if (!pipeline.keys().includes(key)) {
      throw new InvalidArgumentError(FLAG, "a pipeline holding the --tokenizer's tensors", `${path} without "${key}"`);
    }
    if (!(await sameTensor(tokenizer, name, pipeline, key))) {
      throw new InvalidArgumentError(FLAG, 'a pipeline trained on the --tokenizer (the same tokenizer tensors)', `${path}: "${key}" differs`);
    }
  }
}

/** Whether tensor `a` of file `fa` and `b` of `fb` hold the same values, up to float16 storage. */
export async function sameTensor(fa: SafetensorsFile, a: string, fb: SafetensorsFile, b: string): Promise<boolean> {
  const [x, y] = [(await fa.rawTensor(a)).data, (await fb.rawTensor(b)).data];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const [u, v] = [Number(x[i]), Number(y[i])];
    if (!(Math.abs(u - v) <= TOKENIZER_TOLERANCE * Math.abs(u) + 1e-6)) return false;
  }
  return true;
}
