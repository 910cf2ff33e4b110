import type { TensorSource } from '@nextdetail/core';
import type { ResolvedFlexVaeConfig } from '../vqvae/flexVaeConfig.js';
import { ShapeProbe } from './shapeProbe.js';

/**
 * FlexVAR's VQ-16 config read off a state dict, flat or under `model.` (`FlexVAE.pth` gives ch 128, chMult
 * [1, 1, 2, 2, 4], 2 blocks, z 256, codebook width 32).
 */
// jiaosiyu1999/FlexVAR@04462cb:models/vq_llama.py Encoder, VQModel (quant_conv)
export function flexVaeConfigFromShapes(source: TensorSource): ResolvedFlexVaeConfig {
  const prefix = ShapeProbe.prefixOf(source, 'encoder.conv_in.weight', ['', 'model.']);
  const probe = new ShapeProbe(source, prefix, 'a FlexVAR VQ-16 state dict (encoder.conv_blocks.*, quant_conv.*, quantize.*, decoder.*)');
  const ch = probe.shape('encoder.conv_in.weight', 4)[0]!;
  const levels = probe.count((l) => `encoder.conv_blocks.${l}.res.0.conv1.weight`);
  if (levels === 0) probe.shape('encoder.conv_blocks.0.res.0.conv1.weight', 4);
  const chMult = Array.from({ length: levels }, (_, l) => {
    const name = `encoder.conv_blocks.${l}.res.0.conv1.weight`;
    return probe.multiplier(name, probe.shape(name, 4)[0]!, ch);
  });
  return {
    ch,
    chMult,
    numResBlocks: probe.count((b) => `encoder.conv_blocks.0.res.${b}.conv1.weight`),
    zChannels: probe.shape('encoder.conv_out.weight', 4)[0]!,
    codebookEmbedDim: probe.shape('quant_conv.weight', 4)[0]!,
  };
}
