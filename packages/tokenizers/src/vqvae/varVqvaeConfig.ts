import { checkNumber, InvalidArgumentError, withDefaults } from '@nextdetail/core';
import { GROUP_NORM_GROUPS } from './groupNorm.js';

/**
 * VAR's VQVAE (FoundationVision/VAR@78b9539:models/vqvae.py). `vae_ch160v4096z32.pth` is
 * `{ ch: 160, zChannels: 32, vocabSize: 4096 }` with the defaults below, which are the values VQVAE hard-codes in its
 * ddconfig.
 */
export interface VarVqvaeConfig {
  /** Base width; level l has ch·chMult[l] channels. */
  ch: number;
  chMult?: readonly number[];
  numResBlocks?: number;
  /** Latent channels (Cvae): the encoder's output, quant_conv, post_quant_conv and the decoder's input. */
  zChannels: number;
  /** Codebook size. The CNN does not use it; it is here so one config describes the whole VQVAE. */
  vocabSize: number;
  /** Attention after every block of the lowest-resolution level. */
  usingSa?: boolean;
  /** Attention between the two middle blocks. */
  usingMidSa?: boolean;
  /** Kernel size of quant_conv and post_quant_conv (odd; padding k//2). */
  quantConvKs?: number;
}

export type ResolvedVarVqvaeConfig = Required<VarVqvaeConfig>;

const DEFAULTS = {
  chMult: [1, 1, 2, 2, 4],
  numResBlocks: 2,
  usingSa: true,
  usingMidSa: true,
  quantConvKs: 3,
} as const;

/** Fills in the defaults and checks every field (an InvalidArgumentError naming `config.<field>`). */
export function resolveVarVqvaeConfig(config: VarVqvaeConfig): ResolvedVarVqvaeConfig {
  const c: ResolvedVarVqvaeConfig = {
    ...withDefaults<Omit<ResolvedVarVqvaeConfig, 'ch' | 'zChannels' | 'vocabSize'>>(DEFAULTS, config),
    ch: config.ch,
    zChannels: config.zChannels,
    vocabSize: config.vocabSize,
  };
  checkNumber(c.ch, 'config.ch', { min: 1, integer: true });
  checkNumber(c.zChannels, 'config.zChannels', { min: 1, integer: true });
  checkNumber(c.vocabSize, 'config.vocabSize', { min: 1, integer: true });
  checkNumber(c.numResBlocks, 'config.numResBlocks', { min: 1, integer: true });
  checkNumber(c.quantConvKs, 'config.quantConvKs', { min: 1, integer: true });
  if (c.quantConvKs % 2 === 0) {
    throw new InvalidArgumentError('config.quantConvKs', 'an odd kernel size', String(c.quantConvKs));
  }
  if (!Array.isArray(c.chMult) || c.chMult.length === 0) {
    throw new InvalidArgumentError('config.chMult', 'a non-empty array of positive integers', String(c.chMult));
  }
  c.chMult.forEach((m, i) => checkNumber(m, `config.chMult[${i}]`, { min: 1, integer: true }));
  for (const key of ['usingSa', 'usingMidSa'] as const) {
    if (typeof c[key] !== 'boolean') throw new InvalidArgumentError(`config.${key}`, 'a boolean', String(c[key]));
  }
  // Every GroupNorm has 32 groups, so every width (ch itself after conv_in, then each level's) must split into them.
  const widths = [c.ch, ...c.chMult.map((m) => c.ch * m)];
  const bad = widths.find((w) => w % GROUP_NORM_GROUPS !== 0);
  if (bad !== undefined) {
    throw new InvalidArgumentError(
      'config.ch',
      `level widths ch·chMult[l] that are multiples of ${GROUP_NORM_GROUPS} (GroupNorm uses ${GROUP_NORM_GROUPS} groups)`,
      `ch ${c.ch}, chMult [${c.chMult.join(', ')}]: width ${bad}`,
    );
  }
  return { ...c, chMult: [...c.chMult] };
}

/**
 * The config from the reference constructor's keyword arguments (`VQVAE(vocab_size=…, z_channels=…, ch=…, …)`, e.g.
 * a fixture's `config_json.VQVAE`). Only the CNN-shaping ones are read; the quantizer's (`beta`, `v_patch_nums`, …)
 * are left to the quantizer.
 */
export function varVqvaeConfigFromReference(kwargs: Readonly<Record<string, unknown>>): ResolvedVarVqvaeConfig {
  return resolveVarVqvaeConfig({
    ch: kwargs.ch as number,
    zChannels: kwargs.z_channels as number,
    vocabSize: kwargs.vocab_size as number,
    ...(kwargs.quant_conv_ks !== undefined ? { quantConvKs: kwargs.quant_conv_ks as number } : {}),
  });
}
