import { InvalidArgumentError, type TensorSource } from '@nextdetail/core';
import type { PipelineMethod, TokenizerConfigOf } from '@nextdetail/samplers';
import {
  CartTokenizer,
  CartTokenizerTrainer,
  FlexVarTokenizer,
  FlexVarTokenizerTrainer,
  NvgTokenizer,
  NvgTokenizerTrainer,
  type Tokenizer,
  type TrainingOptions,
  VarTokenizer,
  VarTokenizerTrainer,
} from '@nextdetail/tokenizers';
import { type Preset, squarePatchNums } from './presets.js';

/** What every family's trainer shares and the CLI drives. */
export type TokenizerTrainer = VarTokenizerTrainer | CartTokenizerTrainer | FlexVarTokenizerTrainer | NvgTokenizerTrainer;

/** A method's tokenizer architecture: the trainer's config and the inference tokenizer's config of the same model. */
export interface TokenizerSetup {
  method: PipelineMethod;
  trainerConfig: Record<string, unknown>;
  tokenizerConfig: TokenizerConfigOf<PipelineMethod>;
}

/** CART's decomposition order: one base/detail split is enough at 32 px. */
const CART_ORDER = 1;

/** The tokenizer of `method` at the preset's sizes for square images of side `imageSize`. */
export function tokenizerSetup(method: PipelineMethod, preset: Preset, imageSize: number): TokenizerSetup {
  const chMult = Array.from({ length: preset.levels }, (_, i) => (i >= 2 ? 2 : 1));
  const factor = 2 ** (preset.levels - 1);
  const latent = imageSize / factor;
  // NVG halves its clusters down to single positions: the latent's area must be a power of two.
  if (!Number.isInteger(latent) || (method === 'nvg' && !Number.isInteger(Math.log2(latent)))) {
    const expected = method === 'nvg' ? `${factor}·2^k (a power-of-two latent side)` : `a multiple of ${factor} (the tokenizer's downsampling)`;
    throw new InvalidArgumentError('--image-size', expected, String(imageSize));
  }
  const patchNums = squarePatchNums(latent);
  const vocabSize = preset.vocabSize;
  const cvae = preset.latentChannels;
  switch (method) {
    case 'var':
    case 'cart': {
      const vae = { ch: preset.channels, chMult, numResBlocks: preset.resBlocks, usingSa: false, usingMidSa: false, zChannels: cvae, vocabSize };
      const quant = { quantResi: 0.5, shareQuantResi: 4 };
      const cart = method === 'cart' ? { order: CART_ORDER } : {};
      return {
        method,
        trainerConfig: { vae, patchNums, ...quant, ...cart },
        tokenizerConfig: { vae, quantizer: { vocabSize, cvae, patchNums, ...quant }, ...cart },
      };
    }
    case 'flexvar': {
      const vae = { ch: preset.channels, chMult, numResBlocks: preset.resBlocks, zChannels: 32, codebookEmbedDim: cvae };
      return { method, trainerConfig: { vae, vocabSize, scalesPerStep: 2 }, tokenizerConfig: { vae, patchNums } };
    }
    case 'nvg': {
      const vae = { ch: preset.nvgChannels, chMult, numResBlocks: preset.resBlocks, embedDim: cvae };
      return { method, trainerConfig: { vae, vocabSize, latentSize: [latent, latent] }, tokenizerConfig: { vae } };
    }
  }
}

/** A fresh trainer for `setup`. */
export function createTokenizerTrainer(setup: TokenizerSetup, options: TrainingOptions): TokenizerTrainer {
  const c = setup.trainerConfig as never;
  switch (setup.method) {
    case 'var':
      return VarTokenizerTrainer.create(c, options);
    case 'cart':
      return CartTokenizerTrainer.create(c, options);
    case 'flexvar':
      return FlexVarTokenizerTrainer.create(c, options);
    case 'nvg':
      return NvgTokenizerTrainer.create(c, options);
  }
}

/** The inference tokenizer of a trainer's `checkpoint()`. */
export function loadTokenizer(method: PipelineMethod, source: TensorSource, config: TokenizerConfigOf<PipelineMethod>): Promise<Tokenizer> {
  const c = config as never;
  switch (method) {
    case 'var':
      return VarTokenizer.fromStateDict(source, c);
    case 'cart':
      return CartTokenizer.fromStateDict(source, c);
    case 'flexvar':
      return FlexVarTokenizer.fromStateDict(source, c);
    case 'nvg':
      return NvgTokenizer.fromStateDict(source, c);
  }
}
