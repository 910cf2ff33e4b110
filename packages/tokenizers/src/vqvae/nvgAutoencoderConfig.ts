import { withDefaults } from '@nextdetail/core';
import type { BlockStyle } from './blockStyle.js';
import type { ConvStackShape } from './convStack.js';
import { checkConvStackShape } from './convStackShapeChecks.js';

/**
 * NVG's VQAE CNN (reference digest §3.2, `configs/downsample_configs/vq-f16-d32.yaml`): `{}` is the released
 * `ckpt/ae.ckpt` tokenizer (base_ch 128, ch_mult [1, 2, 4, 4, 4], 2 blocks, embed_dim 32, no attention).
 */
export interface NvgAutoencoderConfig {
  /** Base width (`base_ch`); level l has ch·chMult[l] channels. */
  ch?: number;
  chMult?: readonly number[];
  numResBlocks?: number;
  /** The encoder's output and the decoder's input channels: the codebook width, as there is no quant_conv. */
  embedDim?: number;
}

export type ResolvedNvgAutoencoderConfig = Required<NvgAutoencoderConfig> & { chMult: number[] };

const DEFAULTS = { ch: 128, chMult: [1, 2, 4, 4, 4], numResBlocks: 2, embedDim: 32 } as const;

/**
 * Digest §3.2: every conv and norm is wrapped one level deeper (`…conv1.conv.weight`, `…norm1.norm.weight`), and
 * GroupNorm has 32 groups, or 24 when the width is not a multiple of 32. No attention, so the q/k/v layout is moot.
 */
export const NVG_BLOCK_STYLE: BlockStyle = {
  convPath: (path) => `${path}.conv`,
  normPath: (path) => `${path}.norm`,
  groups: (channels) => (channels % 32 === 0 ? 32 : 24),
  fusedQkv: true,
};

/** The encoder/decoder shape: `cnn_attention 'no'`, so no attention anywhere. */
export function nvgStackShape(c: Required<NvgAutoencoderConfig>): ConvStackShape {
  return { ch: c.ch, chMult: c.chMult, numResBlocks: c.numResBlocks, zChannels: c.embedDim, usingSa: false, usingMidSa: false };
}

/** Fills in the defaults and checks every field (an InvalidArgumentError naming `config.<field>`). */
export function resolveNvgAutoencoderConfig(config: NvgAutoencoderConfig = {}): ResolvedNvgAutoencoderConfig {
  const c = withDefaults<Required<NvgAutoencoderConfig>>(DEFAULTS, config);
  checkConvStackShape(nvgStackShape(c), NVG_BLOCK_STYLE, 'embedDim');
  return { ...c, chMult: [...c.chMult] };
}
