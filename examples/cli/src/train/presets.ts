import { InvalidArgumentError } from '@nextdetail/core';
import type { PipelineMethod } from '@nextdetail/samplers';

export const METHODS = ['var', 'cart', 'flexvar', 'nvg'] as const satisfies readonly PipelineMethod[];
export const PRESETS = ['tiny', 'small'] as const;
export type PresetName = (typeof PRESETS)[number];

/**
 * Architecture sizes per preset. `tiny` is for tests and smoke runs (seconds per method on wasm): a 4×4 latent, 32
 * codes, one transformer block. `small` is the shipped Fashion-MNIST model: 4× downsampling to an 8×8 latent, 256
 * codes, a depth-2, width-64 transformer — 3–7 MB per pipeline file. Its step counts are sized for wasm on a 2-core
 * machine: timed on a busy one, a tokenizer step of 8 images took 4–5 s (mostly the convolution gradients) and a
 * generator step of 16 about 2.5 s with the batch's encoding.
 */
export interface Preset {
  /** 2^(levels − 1) is the tokenizer's downsampling factor. */
  levels: number;
  /** Autoencoder base width (GroupNorm needs a multiple of 32, NVG's of 24). */
  channels: number;
  nvgChannels: number;
  /** Residual blocks per autoencoder level (the decoder has one more). */
  resBlocks: number;
  vocabSize: number;
  /** Latent and codebook channels. */
  latentChannels: number;
  generator: { depth: number; width: number; heads: number };
  /**
   * NVG's content heads. RoPE gives each head's rows and columns (headDim − 8 − 2·structureBits)/2 channels: at width
   * 64 two heads leave 6 (frequencies 1, 0.046 and 0.002, which barely tell the rows of an 8×8 grid apart), one head
   * 22 (11 frequencies from 1 down), so NVG's heads are as wide as the width.
   */
  nvgHeads: number;
  /**
   * NVG's structure flow network. In the small preset it is deeper than the content network: trained on the first
   * split alone, a one-block network left the maps as incoherent as noise after 2 200 steps, a two-block one after
   * 500, while three blocks made them steadily more coherent (assets/models/MODELS.md).
   */
  nvgStructure: { depth: number; width: number; heads: number };
  defaults: { tokenizerSteps: number; generatorSteps: number; tokenizerBatch: number; generatorBatch: number; tokenizerLr: number; generatorLr: number };
}

export const PRESET_SIZES: Record<PresetName, Preset> = {
  tiny: {
    levels: 4,
    channels: 32,
    nvgChannels: 24,
    resBlocks: 1,
    vocabSize: 32,
    latentChannels: 8,
    generator: { depth: 1, width: 32, heads: 1 },
    nvgHeads: 1,
    nvgStructure: { depth: 1, width: 32, heads: 1 },
    defaults: { tokenizerSteps: 20, generatorSteps: 20, tokenizerBatch: 8, generatorBatch: 8, tokenizerLr: 3e-3, generatorLr: 3e-3 },
  },
  small: {
    levels: 3,
    channels: 32,
    nvgChannels: 48,
    resBlocks: 1,
    vocabSize: 256,
    latentChannels: 16,
    generator: { depth: 2, width: 64, heads: 2 },
    nvgHeads: 1,
    nvgStructure: { depth: 3, width: 64, heads: 1 },
    defaults: { tokenizerSteps: 400, generatorSteps: 800, tokenizerBatch: 8, generatorBatch: 16, tokenizerLr: 2e-3, generatorLr: 2e-3 },
  },
};

export function checkChoice<T extends string>(value: string, choices: readonly T[], flag: string): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(flag, `one of ${choices.join(', ')}`, JSON.stringify(value));
  }
  return value as T;
}

/** The square scale schedule ending at `side`: 1, 2, 3, 4, then every other side up to it. */
export function squarePatchNums(side: number): number[] {
  const out: number[] = [];
  for (let k = 1; k <= side; k += k < 4 ? 1 : 2) out.push(k);
  if (out[out.length - 1] !== side) out.push(side);
  return out;
}
