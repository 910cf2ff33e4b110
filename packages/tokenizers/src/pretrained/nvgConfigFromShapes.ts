import type { TensorSource } from '@nextdetail/core';
import type { ResolvedNvgAutoencoderConfig } from '../vqvae/nvgAutoencoderConfig.js';
import { ShapeProbe } from './shapeProbe.js';

/**
 * NVG's autoencoder config read off a state dict, flat or under `state_dict.` (`ckpt/ae.ckpt` gives ch 128, chMult
 * [1, 2, 4, 4, 4], 2 blocks, embed_dim 32; reference digest §3.2). Convs and norms are wrapped one level deeper.
 */
export function nvgAutoencoderConfigFromShapes(source: TensorSource): ResolvedNvgAutoencoderConfig {
  const prefix = ShapeProbe.prefixOf(source, 'encoder.conv_in.conv.weight', ['', 'state_dict.']);
  const probe = new ShapeProbe(source, prefix, 'an NVG autoencoder state dict (encoder.*, decoder.*, quantize.*)');
  const ch = probe.shape('encoder.conv_in.conv.weight', 4)[0]!;
  const levels = probe.count((l) => `encoder.down.${l}.block.0.conv1.conv.weight`);
  if (levels === 0) probe.shape('encoder.down.0.block.0.conv1.conv.weight', 4);
  const chMult = Array.from({ length: levels }, (_, l) => {
    const name = `encoder.down.${l}.block.0.conv1.conv.weight`;
    return probe.multiplier(name, probe.shape(name, 4)[0]!, ch);
  });
  return {
    ch,
    chMult,
    numResBlocks: probe.count((b) => `encoder.down.0.block.${b}.conv1.conv.weight`),
    embedDim: probe.shape('encoder.conv_out.conv.weight', 4)[0]!,
  };
}
