import { fileURLToPath } from 'node:url';
import type { TensorSource } from '@nextdetail/core';
import { readSafetensorsFile } from '@nextdetail/core/node';
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
import { FlexVarGenerator, type FlexVarConfig, NvgGenerator, VarGenerator, type VarConfig } from '@nextdetail/transformer';

// The tiny trained models of test/assets (written by scripts/train-tiny-models.mjs): one safetensors file per method
// with the tokenizer under `tokenizer.` and the generator under `generator.`, configs in `__metadata__`.

export type TinyMethod = 'var' | 'cart' | 'flexvar' | 'nvg';

export type TinyModel<T, G> = {
  tokenizer: T;
  generator: G;
  /** The file's `__metadata__` (configs, seed, steps and final losses as JSON strings). */
  metadata: Readonly<Record<string, string>>;
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

/** The names of `source` that start with `prefix`, without it. */
function under(source: TensorSource, prefix: string): TensorSource {
  return {
    keys: () => source.keys().filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)),
    info: (name) => source.info(prefix + name),
    tensor: (name) => source.tensor(prefix + name),
  };
}

/** The tokenizer and generator of one method's shipped file; `dispose()` frees both. */
export async function loadTinyModel<M extends TinyMethod>(method: M): Promise<Loaded[M]> {
  const file = await readSafetensorsFile(tinyModelPath(method));
  try {
    const { metadata } = file;
    const tokenizerConfig: unknown = JSON.parse(metadata.tokenizer_config ?? 'null');
    const generatorConfig: unknown = JSON.parse(metadata.generator_config ?? 'null');
    const tokenizerSource = under(file, 'tokenizer.');
    const load = { prefix: 'generator.' };
    const pair = async <T extends { dispose(): void }, G extends { dispose(): void }>(tokenizer: T, generator: () => Promise<G>): Promise<TinyModel<T, G>> => {
      try {
        const g = await generator();
        return { tokenizer, generator: g, metadata, dispose: () => (tokenizer.dispose(), g.dispose()) };
      } catch (err) {
        tokenizer.dispose();
        throw err;
      }
    };
    const loaded = {
      var: async () => pair(await VarTokenizer.fromStateDict(tokenizerSource, tokenizerConfig as VarTokenizerConfig), () => VarGenerator.fromStateDict(file, generatorConfig as VarConfig, load)),
      cart: async () => pair(await CartTokenizer.fromStateDict(tokenizerSource, tokenizerConfig as CartTokenizerConfig), () => VarGenerator.fromStateDict(file, generatorConfig as VarConfig, load)),
      flexvar: async () =>
        pair(await FlexVarTokenizer.fromStateDict(tokenizerSource, tokenizerConfig as FlexVarTokenizerConfig), () =>
          FlexVarGenerator.fromStateDict(file, generatorConfig as FlexVarConfig, load),
        ),
      nvg: async () => pair(await NvgTokenizer.fromStateDict(tokenizerSource, tokenizerConfig as NvgTokenizerConfig), () => NvgGenerator.fromStateDict(file, load)),
    };
    return (await loaded[method]()) as Loaded[M];
  } finally {
    await file.close();
  }
}
