import type { BlockStyle } from './blockStyle.js';
import { type ConvStackPlan, type ConvStackShape, midLayers } from './convStack.js';
import { IMAGE_CHANNELS } from './encoder.js';
import type { ConvStackNames } from './stackNames.js';

// FoundationVision/VAR@78b9539:models/basic_vae.py Decoder.__init__; LlamaGen's Decoder
// (jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py) builds the same chain under other names.
export function decoderPlan(shape: ConvStackShape, style: BlockStyle, names: ConvStackNames): ConvStackPlan {
  const { ch, chMult, numResBlocks, zChannels, usingSa, usingMidSa } = shape;
  const last = chMult.length - 1;
  let width = ch * chMult[last]!;
  const convInWidth = width;
  const layers = midLayers(names, width, usingMidSa);
  // Runs from the lowest resolution up, one block more per level than the encoder.
  for (let level = last; level >= 0; level--) {
    const outWidth = ch * chMult[level]!;
    for (let b = 0; b <= numResBlocks; b++) {
      layers.push({ kind: 'resnet', name: names.block(level, b), inChannels: width, outChannels: outWidth });
      width = outWidth;
      if (level === last && usingSa) layers.push({ kind: 'attn', name: names.attn(level, b), channels: width });
    }
    if (level !== 0) layers.push({ kind: 'upsample', name: names.resample(level), channels: width });
  }
  return { style, prefix: names.prefix, inChannels: zChannels, convInWidth, layers, normOutWidth: width, outChannels: IMAGE_CHANNELS };
}
