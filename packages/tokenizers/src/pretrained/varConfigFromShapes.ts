import { InvalidArgumentError } from '@nextdetail/core';
import type { TensorSource } from '@nextdetail/core';
import type { PatchNums } from '../quantizer/patchNums.js';
import type { VarTokenizerConfig } from '../varTokenizer.js';
import { ShapeProbe } from './shapeProbe.js';

/** VAR's 256-px schedule (FoundationVision/VAR@78b9539:models/__init__.py build_vae_var patch_nums). */
export const VAR_256_PATCH_NUMS: PatchNums = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];

export interface VarShapeOptions {
  /** The quantizer's schedule (default VAR's 256-px one); weights do not record it. */
  patchNums?: PatchNums;
  /** Phi's ratio r (default 0.5 where the checkpoint has Phi convolutions, else 0: the identity). */
  quantResi?: number;
}

/**
 * VAR's VQVAE config read off a state dict (`vae_ch160v4096z32.pth` gives ch 160, chMult [1, 1, 2, 2, 4], 2 blocks,
 * z 32, V 4096, K = 4 shared Phis): widths from conv_in and each level's first block, block and level counts from
 * the names, attention from its presence, the Phi sharing mode from the names of its convolutions.
 */
// FoundationVision/VAR@78b9539:models/vqvae.py VQVAE.__init__, models/basic_vae.py Encoder, models/quant.py
export function varTokenizerConfigFromShapes(source: TensorSource, options: VarShapeOptions = {}): VarTokenizerConfig {
  const probe = new ShapeProbe(source, '', 'a VAR VQVAE state dict (encoder.*, quant_conv.*, quantize.*, decoder.*)');
  const ch = probe.shape('encoder.conv_in.weight', 4)[0]!;
  const levels = probe.count((l) => `encoder.down.${l}.block.0.conv1.weight`);
  if (levels === 0) probe.shape('encoder.down.0.block.0.conv1.weight', 4);
  const chMult = Array.from({ length: levels }, (_, l) => {
    const name = `encoder.down.${l}.block.0.conv1.weight`;
    return probe.multiplier(name, probe.shape(name, 4)[0]!, ch);
  });
  const numResBlocks = probe.count((b) => `encoder.down.0.block.${b}.conv1.weight`);
  const quantConv = probe.shape('quant_conv.weight', 4);
  const [vocabSize, zChannels] = probe.shape('quantize.embedding.weight', 2) as [number, number];

  const shared = probe.count((k) => `quantize.quant_resi.qresi_ls.${k}.weight`);
  const unshared = probe.count((k) => `quantize.quant_resi.${k}.weight`);
  const single = probe.has('quantize.quant_resi.qresi.weight');
  const shareQuantResi = shared > 0 ? shared : single ? 1 : unshared > 0 ? 0 : 4;
  const hasPhi = shared > 0 || single || unshared > 0;

  const scaleCount = probe.has('quantize.ema_vocab_hit_SV') ? probe.shape('quantize.ema_vocab_hit_SV', 2)[0]! : undefined;
  const patchNums = options.patchNums ?? VAR_256_PATCH_NUMS;
  const needed = shareQuantResi === 0 ? unshared : scaleCount;
  if (options.patchNums === undefined && needed !== undefined && needed !== patchNums.length) {
    const why = shareQuantResi === 0 ? `one Phi per scale, ${unshared} in the checkpoint` : `quantize.ema_vocab_hit_SV has ${scaleCount} rows`;
    throw new InvalidArgumentError('options.patchNums', `a schedule of ${needed} scales (${why})`, 'none, and the default has 10');
  }
  return {
    vae: {
      ch,
      chMult,
      numResBlocks,
      zChannels,
      vocabSize,
      usingSa: probe.has(`encoder.down.${levels - 1}.attn.0.qkv.weight`),
      usingMidSa: probe.has('encoder.mid.attn_1.qkv.weight'),
      quantConvKs: quantConv[2]!,
    },
    quantizer: { vocabSize, cvae: zChannels, patchNums, quantResi: options.quantResi ?? (hasPhi ? 0.5 : 0), shareQuantResi },
  };
}
