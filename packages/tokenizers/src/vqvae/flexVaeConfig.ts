import { checkNumber, withDefaults } from '@nextdetail/core';
import type { BlockStyle } from './blockStyle.js';
import type { ConvStackShape } from './convStack.js';
import { checkConvStackShape } from './convStackShapeChecks.js';

/**
 * FlexVAR's tokenizer, LlamaGen VQ-16 (jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py ModelArgs and Encoder/Decoder
 * defaults, as FlexVAR builds it: `VQ_models['VQ-16'](codebook_size=8912, codebook_embed_dim=32)`). `{}` is
 * `FlexVAE.pth`.
 */
export interface FlexVaeConfig {
  /** Base width; level l has ch·chMult[l] channels. */
  ch?: number;
  chMult?: readonly number[];
  numResBlocks?: number;
  /** The encoder's output and the decoder's input channels. */
  zChannels?: number;
  /** The codebook's width: quant_conv's output and post_quant_conv's input (both 1×1). */
  codebookEmbedDim?: number;
}

export type ResolvedFlexVaeConfig = Required<FlexVaeConfig> & { chMult: number[] };

const DEFAULTS = { ch: 128, chMult: [1, 1, 2, 2, 4], numResBlocks: 2, zChannels: 256, codebookEmbedDim: 32 } as const;

/**
 * LlamaGen's blocks: plain nn.Conv2d/nn.GroupNorm names, `Normalize` = GroupNorm(32, C, eps 1e-6), attention with
 * separate q, k, v convs (jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py Normalize, AttnBlock).
 */
export const LLAMAGEN_BLOCK_STYLE: BlockStyle = {
  convPath: (path) => path,
  normPath: (path) => path,
  groups: () => 32,
  fusedQkv: false,
};

/** The encoder/decoder shape: LlamaGen always has attention at the lowest level and in the middle. */
export function flexVaeStackShape(c: Required<FlexVaeConfig>): ConvStackShape {
  return { ...c, usingSa: true, usingMidSa: true };
}

/** Fills in the defaults and checks every field (an InvalidArgumentError naming `config.<field>`). */
export function resolveFlexVaeConfig(config: FlexVaeConfig = {}): ResolvedFlexVaeConfig {
  const c = withDefaults<Required<FlexVaeConfig>>(DEFAULTS, config);
  checkConvStackShape(flexVaeStackShape(c), LLAMAGEN_BLOCK_STYLE, 'zChannels');
  checkNumber(c.codebookEmbedDim, 'config.codebookEmbedDim', { min: 1, integer: true });
  return { ...c, chMult: [...c.chMult] };
}
