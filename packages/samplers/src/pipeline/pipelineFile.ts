import {
  type ByteInput,
  CheckpointFormatError,
  describeValue,
  float32ToFloat16,
  InvalidArgumentError,
  type RawTensor,
  readSafetensors,
  type SafetensorsFile,
  type TensorSource,
  type UrlSourceOptions,
  type WritableRawTensor,
  writeSafetensors,
} from '@nextdetail/core';
import {
  CartTokenizer,
  type CartTokenizerConfig,
  FlexVarTokenizer,
  type FlexVarTokenizerConfig,
  NvgTokenizer,
  type NvgTokenizerConfig,
  VarTokenizer,
  type VarTokenizerConfig,
} from '@nextdetail/tokenizers';
import { type FlexVarConfig, FlexVarGenerator, NvgGenerator, type VarConfig, VarGenerator } from '@nextdetail/transformer';
import { type PipelineSampling, samplingProblem } from './pipelineSampling.js';

/** `__metadata__.kind` of a pipeline file. */
export const PIPELINE_KIND = 'nextdetail-pipeline';

/** The four methods, each a tokenizer and a generator that `generate` runs together. */
export type Pipeline =
  | {
      method: 'var';
      tokenizer: VarTokenizer;
      generator: VarGenerator;
      info: PipelineInfo;
    }
  | {
      method: 'cart';
      tokenizer: CartTokenizer;
      generator: VarGenerator;
      info: PipelineInfo;
    }
  | {
      method: 'flexvar';
      tokenizer: FlexVarTokenizer;
      generator: FlexVarGenerator;
      info: PipelineInfo;
    }
  | {
      method: 'nvg';
      tokenizer: NvgTokenizer;
      generator: NvgGenerator;
      info: PipelineInfo;
    };

export type PipelineMethod = Pipeline['method'];

/** What a pipeline file says about itself beyond its tensors. */
export interface PipelineInfo {
  /** One name per class label (label i is `classNames[i]`). */
  classNames: string[];
  /** Side of the square training images, in pixels. */
  imageSize: number;
  /** Free-form provenance (dataset, command, steps, losses, date), kept as written. */
  training?: Record<string, unknown>;
  /** The sampling settings recommended for this model (checked on write and load). */
  sampling?: PipelineSampling;
}

/** The tokenizer config each method's file stores (what its tokenizer's `fromStateDict` takes). */
export type TokenizerConfigOf<M extends PipelineMethod> = M extends 'var'
  ? VarTokenizerConfig
  : M extends 'cart'
  ? CartTokenizerConfig
  : M extends 'flexvar'
  ? FlexVarTokenizerConfig
  : NvgTokenizerConfig;

export interface PipelineParts<M extends PipelineMethod = PipelineMethod> {
  method: M;
  /** The tokenizer's state dict under its reference names, e.g. the bytes of a tokenizer trainer's `checkpoint()`. */
  tokenizerStateDict: ByteInput;
  tokenizerConfig: TokenizerConfigOf<M>;
  generator: M extends 'nvg' ? NvgGenerator : M extends 'flexvar' ? FlexVarGenerator : VarGenerator;
  info: PipelineInfo;
}

const METHODS: readonly PipelineMethod[] = ['var', 'cart', 'flexvar', 'nvg'];

/** How `writePipeline` stores the models' float tensors. */
export interface WritePipelineOptions {
  /**
   * 'float16' halves the file (tensors stored as safetensors F16, rounded to nearest even; loading widens them back
   * to float32). Default 'float32', which keeps the weights exactly.
   */
  dtype?: 'float32' | 'float16';
}

/** What `convertPipeline` changes. */
export interface ConvertPipelineOptions {
  /** Store the float tensors as this (default: each as the file stores it, bfloat16 widened to float32). */
  dtype?: 'float32' | 'float16';
  /** Replace the file's recommended sampling settings (`null` removes them; default: keep them). */
  sampling?: PipelineSampling | null;
}

/**
 * One safetensors file holding a whole model: the tokenizer's tensors under `tokenizer.`, the generator's under
 * `generator.` (both with the reference names, PyTorch layout), and in `__metadata__` the method, both configs and
 * the class names — so an app loads a trained model with one fetch and no Python.
 */
export async function writePipeline<M extends PipelineMethod>(parts: PipelineParts<M>, options: WritePipelineOptions = {}): Promise<Uint8Array> {
  checkMethod(parts.method, 'parts.method');
  const problem = infoProblem(parts.info, parts.method);
  if (problem) throw new InvalidArgumentError('parts.info', problem.expected, problem.actual);
  const stored = floatStorage(options);
  const tokenizerFile = await readSafetensors(parts.tokenizerStateDict);
  const tensors: Record<string, WritableRawTensor> = {};
  try {
    for (const name of tokenizerFile.keys()) {
      const raw = await tokenizerFile.rawTensor(name);
      if (raw.dtype !== 'F32') {
        throw new CheckpointFormatError('parts.tokenizerStateDict', `tensor "${name}" is ${raw.dtype}; a pipeline stores F32 only`);
      }
      tensors[`tokenizer.${name}`] = stored(`tokenizer.${name}`, raw.shape, raw.data);
    }
  } finally {
    await tokenizerFile.close();
  }
  const generator = parts.generator as VarGenerator | FlexVarGenerator | NvgGenerator;
  for (const [name, t] of Object.entries(await generator.stateDict())) {
    tensors[`generator.${name}`] = t.dtype === 'F32' ? stored(`generator.${name}`, t.shape, t.data) : t;
  }
  return writeSafetensors(tensors, {
    format: 'pt',
    kind: PIPELINE_KIND,
    method: parts.method,
    tokenizer_config: JSON.stringify(parts.tokenizerConfig),
    generator_config: JSON.stringify(generator.config),
    info: JSON.stringify(parts.info),
  });
}

/**
 * A pipeline file (bytes, Blob, ByteSource or URL) rewritten with its float tensors stored as `options.dtype` —
 * 'float16' halves a float32 file, 'float32' widens a float16 one (exactly) — and/or with new recommended sampling
 * settings. Everything else and the tensor order are kept, so converting a file gives the bytes `writePipeline`
 * writes with that dtype and info.
 */
export async function convertPipeline(input: ByteInput | string | URL, options: ConvertPipelineOptions, urlOptions: UrlSourceOptions = {}): Promise<Uint8Array> {
  // Without a dtype each float tensor keeps its storage: F16 values round-trip exactly; BF16 widens to F32.
  const storedAs = (raw: RawTensor) => floatStorage({ dtype: options.dtype ?? (raw.dtype === 'F16' ? 'float16' : 'float32') });
  const file = await readSafetensors(input, urlOptions);
  try {
    checkPipelineKind(file);
    const metadata = { ...file.metadata };
    if (options.sampling !== undefined) {
      const { sampling: _, ...info } = pipelineInfo(file);
      if (options.sampling !== null) {
        const problem = samplingProblem(options.sampling, file.metadata.method!);
        if (problem) throw new InvalidArgumentError(`options.${problem.at}`, problem.expected, problem.actual);
      }
      metadata.info = JSON.stringify(options.sampling === null ? info : { ...info, sampling: options.sampling });
    }
    const tensors: Record<string, WritableRawTensor> = {};
    for (const name of file.keys()) {
      const raw = await file.rawTensor(name);
      const float = raw.dtype === 'F32' || raw.dtype === 'F16' || raw.dtype === 'BF16';
      tensors[name] = float ? storedAs(raw)(name, raw.shape, raw.data) : (raw as Exclude<RawTensor, { dtype: 'F32' | 'F16' | 'BF16' }>);
    }
    return await writeSafetensors(tensors, metadata);
  } finally {
    await file.close();
  }
}

/** How a float tensor named `name` is written under `options.dtype` (validated here). */
function floatStorage(options: WritePipelineOptions): (name: string, shape: readonly number[], data: Float32Array) => WritableRawTensor {
  const { dtype = 'float32' } = options;
  if (dtype !== 'float32' && dtype !== 'float16') throw new InvalidArgumentError('options.dtype', '"float32" or "float16"', describeValue(dtype));
  return (name, shape, data) =>
    dtype === 'float16' ? { dtype: 'F16', shape, data: float32ToFloat16(data, `tensor "${name}"`) } : { dtype: 'F32', shape, data };
}

/**
 * Loads a file written by `writePipeline` from bytes, a Blob, a ByteSource or a URL. The file is validated (kind,
 * method, configs) before any model is built; shapes that disagree with the configs are the models' ShapeErrors.
 */
export async function loadPipeline(input: ByteInput | string | URL, options: UrlSourceOptions = {}): Promise<Pipeline> {
  const file = await readSafetensors(input, options);
  try {
    return await pipelineFromFile(file);
  } finally {
    await file.close();
  }
}

/** Frees the tokenizer's and the generator's tensors. */
export function disposePipeline(pipeline: Pipeline): void {
  pipeline.tokenizer.dispose();
  pipeline.generator.dispose();
}

async function pipelineFromFile(file: SafetensorsFile): Promise<Pipeline> {
  checkPipelineKind(file);
  const info = pipelineInfo(file);
  const method = file.metadata.method as PipelineMethod;
  const tokenizerConfig = metadataJson(file, 'tokenizer_config') as object;
  const generatorConfig = metadataJson(file, 'generator_config') as object;
  const tokenizerSource = prefixed(file, 'tokenizer.');
  const load = { prefix: 'generator.' };
  switch (method) {
    case 'var': {
      const tokenizer = await VarTokenizer.fromStateDict(tokenizerSource, tokenizerConfig as VarTokenizerConfig);
      return withGenerator(
        tokenizer,
        () => VarGenerator.fromStateDict(file, generatorConfig as VarConfig, load),
        (generator) => ({ method, tokenizer, generator, info }),
      );
    }
    case 'cart': {
      const tokenizer = await CartTokenizer.fromStateDict(tokenizerSource, tokenizerConfig as CartTokenizerConfig);
      return withGenerator(
        tokenizer,
        () => VarGenerator.fromStateDict(file, generatorConfig as VarConfig, load),
        (generator) => ({ method, tokenizer, generator, info }),
      );
    }
    case 'flexvar': {
      const tokenizer = await FlexVarTokenizer.fromStateDict(tokenizerSource, tokenizerConfig as FlexVarTokenizerConfig);
      return withGenerator(
        tokenizer,
        () => FlexVarGenerator.fromStateDict(file, generatorConfig as FlexVarConfig, load),
        (generator) => ({ method, tokenizer, generator, info }),
      );
    }
    case 'nvg': {
      const tokenizer = await NvgTokenizer.fromStateDict(tokenizerSource, tokenizerConfig as NvgTokenizerConfig);
      return withGenerator(
        tokenizer,
        () => NvgGenerator.fromStateDict(file, load),
        (generator) => ({ method, tokenizer, generator, info }),
      );
    }
  }
}

/** A metadata entry of `file`, parsed. */
function metadataJson(file: SafetensorsFile, key: string): unknown {
  try {
    return JSON.parse(file.metadata[key] ?? '');
  } catch {
    throw new CheckpointFormatError(file.name, `metadata ${key} is not JSON`);
  }
}

/** The info of a pipeline file, checked after its method. */
function pipelineInfo(file: SafetensorsFile): PipelineInfo {
  checkMethodOfFile(file);
  const method = file.metadata.method!;
  const info = metadataJson(file, 'info') as PipelineInfo;
  const problem = infoProblem(info, method);
  if (problem) throw new CheckpointFormatError(file.name, `metadata info: expected ${problem.expected}, got ${problem.actual}`);
  return info;
}

function checkMethodOfFile(file: SafetensorsFile): void {
  if (!METHODS.includes(file.metadata.method as PipelineMethod)) {
    throw new CheckpointFormatError(file.name, `metadata method ${JSON.stringify(file.metadata.method)} is not one of ${METHODS.join(', ')}`);
  }
}

function checkPipelineKind(file: SafetensorsFile): void {
  if (file.metadata.kind !== PIPELINE_KIND) {
    throw new CheckpointFormatError(file.name, `not a pipeline file (metadata kind ${JSON.stringify(file.metadata.kind)}, expected "${PIPELINE_KIND}")`);
  }
}

/** Builds the generator; if that fails, the tokenizer built before it is freed. */
async function withGenerator<T extends { dispose(): void }, G>(
  tokenizer: T,
  build: () => Promise<G>,
  make: (generator: G) => Pipeline,
): Promise<Pipeline> {
  try {
    return make(await build());
  } catch (err) {
    tokenizer.dispose();
    throw err;
  }
}

/** The tensors of `source` whose names start with `prefix`, under their names without it. */
function prefixed(source: TensorSource, prefix: string): TensorSource {
  return {
    keys: () =>
      source
        .keys()
        .filter((k) => k.startsWith(prefix))
        .map((k) => k.slice(prefix.length)),
    info: (name) => source.info(prefix + name),
    tensor: (name) => source.tensor(prefix + name),
  };
}

function checkMethod(method: unknown, argument: string): void {
  if (!METHODS.includes(method as PipelineMethod)) {
    throw new InvalidArgumentError(argument, `one of ${METHODS.map((m) => JSON.stringify(m)).join(', ')}`, describeValue(method));
  }
}

/** What is wrong with the `info` of a `method` pipeline, if anything. */
function infoProblem(info: unknown, method: string): { expected: string; actual: string } | undefined {
  if (info === null || typeof info !== 'object')
    return {
      expected: 'an object { classNames, imageSize }',
      actual: describeValue(info),
    };
  const { classNames, imageSize } = info as PipelineInfo;
  if (!Array.isArray(classNames) || !classNames.every((n) => typeof n === 'string')) {
    return {
      expected: 'classNames: an array of strings',
      actual: describeValue(classNames),
    };
  }
  if (!Number.isInteger(imageSize) || imageSize < 1)
    return {
      expected: 'imageSize: a positive integer',
      actual: describeValue(imageSize),
    };
  const { sampling } = info as PipelineInfo;
  const problem = sampling === undefined ? undefined : samplingProblem(sampling, method);
  return problem && { expected: `${problem.at}: ${problem.expected}`, actual: problem.actual };
}
