/**
 * Where an encoder's or decoder's modules sit in the state dict. `level` is the resolution level (0 = full
 * resolution), whatever order the family's module list uses.
 */
export interface ConvStackNames {
  /** `encoder` or `decoder`: the prefix of conv_in, norm_out and conv_out. */
  prefix: string;
  block(level: number, index: number): string;
  attn(level: number, index: number): string;
  /** The level's Downsample (encoder) or Upsample (decoder). */
  resample(level: number): string;
  /** The middle ResnetBlock, AttnBlock, ResnetBlock. */
  mid: readonly [string, string, string];
}

/**
 * FoundationVision/VAR@78b9539:models/basic_vae.py (the LDM layout, which NVG's VQAE shares per digest §3.2):
 * `encoder.down[level]`, `decoder.up[level]`, `mid.block_1`, `mid.attn_1`, `mid.block_2`.
 */
export function ldmStackNames(prefix: 'encoder' | 'decoder'): ConvStackNames {
  const [list, resample] = prefix === 'encoder' ? ['down', 'downsample'] : ['up', 'upsample'];
  return {
    prefix,
    block: (level, index) => `${prefix}.${list}.${level}.block.${index}`,
    attn: (level, index) => `${prefix}.${list}.${level}.attn.${index}`,
    resample: (level) => `${prefix}.${list}.${level}.${resample}`,
    mid: [`${prefix}.mid.block_1`, `${prefix}.mid.attn_1`, `${prefix}.mid.block_2`],
  };
}

/**
 * jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py (LlamaGen's layout): `conv_blocks[i].res[j]`, `.attn[j]`, and
 * `mid` as a ModuleList. The decoder builds its conv_blocks from the lowest resolution up, so its list index is
 * `levels − 1 − level`.
 */
export function llamaGenStackNames(prefix: 'encoder' | 'decoder', levels: number): ConvStackNames {
  const index = (level: number): number => (prefix === 'encoder' ? level : levels - 1 - level);
  const resample = prefix === 'encoder' ? 'downsample' : 'upsample';
  return {
    prefix,
    block: (level, j) => `${prefix}.conv_blocks.${index(level)}.res.${j}`,
    attn: (level, j) => `${prefix}.conv_blocks.${index(level)}.attn.${j}`,
    resample: (level) => `${prefix}.conv_blocks.${index(level)}.${resample}`,
    mid: [`${prefix}.mid.0`, `${prefix}.mid.1`, `${prefix}.mid.2`],
  };
}
