import { type ConvStackPlan, type LayerPlan, midLayers } from './convStack.js';
import { IMAGE_CHANNELS } from './encoder.js';
import type { ResolvedVarVqvaeConfig } from './varVqvaeConfig.js';

// FoundationVision/VAR@78b9539:models/basic_vae.py Decoder.__init__
export function decoderPlan(config: ResolvedVarVqvaeConfig): ConvStackPlan {
  const { ch, chMult, numResBlocks, zChannels, usingSa, usingMidSa } = config;
  const last = chMult.length - 1;
  let width = ch * chMult[last]!;
  const convInWidth = width;
  const layers = midLayers('decoder', width, usingMidSa);
  // `up[level]` is indexed by resolution level but runs from the lowest resolution up, one block more than the encoder.
  for (let level = last; level >= 0; level--) {
    const name = `decoder.up.${level}`;
    const outWidth = ch * chMult[level]!;
    for (let b = 0; b <= numResBlocks; b++) {
      layers.push({ kind: 'resnet', name: `${name}.block.${b}`, inChannels: width, outChannels: outWidth });
      width = outWidth;
      if (level === last && usingSa) layers.push({ kind: 'attn', name: `${name}.attn.${b}`, channels: width });
    }
    if (level !== 0) layers.push({ kind: 'upsample', name: `${name}.upsample`, channels: width });
  }
  return { prefix: 'decoder', inChannels: zChannels, convInWidth, layers, normOutWidth: width, outChannels: IMAGE_CHANNELS };
}
