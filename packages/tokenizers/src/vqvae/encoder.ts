import { type ConvStackPlan, type LayerPlan, midLayers } from './convStack.js';
import type { ResolvedVarVqvaeConfig } from './varVqvaeConfig.js';

/** The encoder reads RGB images. */
export const IMAGE_CHANNELS = 3;

// FoundationVision/VAR@78b9539:models/basic_vae.py Encoder.__init__ (double_z=False, as VQVAE builds it)
export function encoderPlan(config: ResolvedVarVqvaeConfig): ConvStackPlan {
  const { ch, chMult, numResBlocks, zChannels, usingSa, usingMidSa } = config;
  const last = chMult.length - 1;
  const layers: LayerPlan[] = [];
  let width = ch;
  chMult.forEach((mult, level) => {
    const name = `encoder.down.${level}`;
    for (let b = 0; b < numResBlocks; b++) {
      layers.push({ kind: 'resnet', name: `${name}.block.${b}`, inChannels: width, outChannels: ch * mult });
      width = ch * mult;
      // Attention only at the lowest resolution, after every block there.
      if (level === last && usingSa) layers.push({ kind: 'attn', name: `${name}.attn.${b}`, channels: width });
    }
    if (level !== last) layers.push({ kind: 'downsample', name: `${name}.downsample`, channels: width });
  });
  layers.push(...midLayers('encoder', width, usingMidSa));
  return { prefix: 'encoder', inChannels: IMAGE_CHANNELS, convInWidth: ch, layers, normOutWidth: width, outChannels: zChannels };
}
