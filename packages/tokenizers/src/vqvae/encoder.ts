import type { BlockStyle } from './blockStyle.js';
import { type ConvStackPlan, type ConvStackShape, type LayerPlan, midLayers } from './convStack.js';
import type { ConvStackNames } from './stackNames.js';

/** The encoder reads RGB images. */
export const IMAGE_CHANNELS = 3;

// FoundationVision/VAR@78b9539:models/basic_vae.py Encoder.__init__ (double_z=False, as VQVAE builds it); LlamaGen's
// Encoder (jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py) builds the same chain under other names.
export function encoderPlan(shape: ConvStackShape, style: BlockStyle, names: ConvStackNames): ConvStackPlan {
  const { ch, chMult, numResBlocks, zChannels, usingSa, usingMidSa } = shape;
  const last = chMult.length - 1;
  const layers: LayerPlan[] = [];
  let width = ch;
  chMult.forEach((mult, level) => {
    for (let b = 0; b < numResBlocks; b++) {
      layers.push({ kind: 'resnet', name: names.block(level, b), inChannels: width, outChannels: ch * mult });
      width = ch * mult;
      // Attention only at the lowest resolution, after every block there.
      if (level === last && usingSa) layers.push({ kind: 'attn', name: names.attn(level, b), channels: width });
    }
    if (level !== last) layers.push({ kind: 'downsample', name: names.resample(level), channels: width });
  });
  layers.push(...midLayers(names, width, usingMidSa));
  return { style, prefix: names.prefix, inChannels: IMAGE_CHANNELS, convInWidth: ch, layers, normOutWidth: width, outChannels: zChannels };
}
