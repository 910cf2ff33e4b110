import { describeValue, InvalidArgumentError, type TensorSource, type UrlSourceOptions } from '@nextdetail/core';
import type { DecomposeOptions } from '@nextdetail/decompose';
import { CartTokenizer } from '../cartTokenizer.js';
import { FlexVarTokenizer, type FlexVarTokenizerConfig } from '../flexVarTokenizer.js';
import { NvgTokenizer, type NvgTokenizerConfig } from '../nvgTokenizer.js';
import type { BaseDetailQuantizerConfig } from '../quantizer/baseDetail.js';
import type { PatchNums } from '../quantizer/patchNums.js';
import { VarTokenizer, type VarTokenizerConfig, varTokenizerConfigFromReference } from '../varTokenizer.js';
import { flexVaeConfigFromShapes } from './flexVaeConfigFromShapes.js';
import { nvgAutoencoderConfigFromShapes } from './nvgConfigFromShapes.js';
import { openCheckpoint, type PretrainedSource } from './openCheckpoint.js';
import { varTokenizerConfigFromShapes, type VarShapeOptions } from './varConfigFromShapes.js';

/** Options every family takes: the `fetch` used for URLs. */
interface CommonOptions extends UrlSourceOptions {}

/**
 * VAR's VQVAE. Without `config`, a safetensors `__metadata__.config_json.VQVAE` (the reference's constructor
 * arguments) is used, else the geometry is read off the tensor shapes with `patchNums`/`quantResi`.
 */
export interface VarPretrainedOptions extends CommonOptions, VarShapeOptions {
  family: 'var';
  config?: VarTokenizerConfig;
}

/** CART on VAR's VQVAE (as `var`), plus the decomposition. */
export interface CartPretrainedOptions extends CommonOptions, VarShapeOptions {
  family: 'cart';
  config?: VarTokenizerConfig;
  order?: number;
  baseDetail?: BaseDetailQuantizerConfig;
  decomposeOptions?: Omit<DecomposeOptions, 'order' | 'range'>;
}

/** FlexVAR's VQ-16 (`FlexVAE.pth`); `config.vae` is read off the shapes when left out. */
export interface FlexVarPretrainedOptions extends CommonOptions {
  family: 'flexvar';
  config?: FlexVarTokenizerConfig;
  patchNums?: PatchNums;
}

/** NVG's autoencoder (`ckpt/ae.ckpt`); `config.vae` is read off the shapes when left out. */
export interface NvgPretrainedOptions extends CommonOptions {
  family: 'nvg';
  config?: NvgTokenizerConfig;
}

export type PretrainedOptions = VarPretrainedOptions | CartPretrainedOptions | FlexVarPretrainedOptions | NvgPretrainedOptions;

type AnyTokenizer = VarTokenizer | CartTokenizer | FlexVarTokenizer | NvgTokenizer;

/** `fromPretrained`'s signature: the tokenizer type follows `options.family`. */
export interface FromPretrained {
  (source: PretrainedSource, options: VarPretrainedOptions): Promise<VarTokenizer>;
  (source: PretrainedSource, options: CartPretrainedOptions): Promise<CartTokenizer>;
  (source: PretrainedSource, options: FlexVarPretrainedOptions): Promise<FlexVarTokenizer>;
  (source: PretrainedSource, options: NvgPretrainedOptions): Promise<NvgTokenizer>;
  (source: PretrainedSource, options: PretrainedOptions): Promise<AnyTokenizer>;
}

/**
 * Loads a tokenizer of `options.family` from pretrained weights: `.safetensors` or a `torch.save` file (`.pth`,
 * `.ckpt`), told apart by their first bytes, from a URL, bytes, a Blob, a ByteSource or an opened TensorSource.
 * The checkpoint is closed once read (a TensorSource passed in stays open). Malformed files are
 * CheckpointFormatErrors, pickles that would run code UnsafePickleErrors, missing tensors InvalidArgumentErrors and
 * shapes that disagree with the config ShapeErrors.
 */
export const fromPretrained = (async (source: PretrainedSource, options: PretrainedOptions): Promise<AnyTokenizer> => {
  const family: unknown = (options as PretrainedOptions | undefined)?.family;
  if (family !== 'var' && family !== 'cart' && family !== 'flexvar' && family !== 'nvg') {
    throw new InvalidArgumentError('options.family', '"var", "cart", "flexvar" or "nvg"', describeValue(family));
  }
  const checkpoint = await openCheckpoint(source, { fetch: options.fetch });
  try {
    const tensors = checkpoint.source;
    switch (options.family) {
      case 'var':
        return await VarTokenizer.fromStateDict(tensors, varConfig(tensors, checkpoint.metadata, options));
      case 'cart': {
        const { order, baseDetail, decomposeOptions } = options;
        const config = varConfig(tensors, checkpoint.metadata, options);
        return await CartTokenizer.fromStateDict(tensors, { ...config, order, baseDetail, decomposeOptions });
      }
      case 'flexvar': {
        const config = options.config ?? {};
        return await FlexVarTokenizer.fromStateDict(tensors, {
          vae: config.vae ?? flexVaeConfigFromShapes(tensors),
          patchNums: options.patchNums ?? config.patchNums,
        });
      }
      case 'nvg': {
        const config = options.config ?? {};
        return await NvgTokenizer.fromStateDict(tensors, { vae: config.vae ?? nvgAutoencoderConfigFromShapes(tensors) });
      }
    }
  } finally {
    await checkpoint.close();
  }
}) as FromPretrained;

/** The config given, else the reference's arguments from the metadata, else the one the shapes imply. */
function varConfig(
  tensors: TensorSource,
  metadata: Readonly<Record<string, string>>,
  options: VarPretrainedOptions | CartPretrainedOptions,
): VarTokenizerConfig {
  if (options.config) return options.config;
  const kwargs = referenceKwargs(metadata.config_json);
  if (kwargs) {
    const config = varTokenizerConfigFromReference(kwargs);
    return options.patchNums ? { ...config, quantizer: { ...config.quantizer, patchNums: options.patchNums } } : config;
  }
  return varTokenizerConfigFromShapes(tensors, { patchNums: options.patchNums, quantResi: options.quantResi });
}

function referenceKwargs(json: string | undefined): Record<string, unknown> | undefined {
  if (json === undefined) return undefined;
  try {
    const parsed = JSON.parse(json) as { VQVAE?: unknown };
    const kwargs = parsed?.VQVAE;
    return kwargs !== null && typeof kwargs === 'object' && Array.isArray((kwargs as { v_patch_nums?: unknown }).v_patch_nums)
      ? (kwargs as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
