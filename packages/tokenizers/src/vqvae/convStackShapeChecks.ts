import { checkNumber, InvalidArgumentError } from '@nextdetail/core';
import type { BlockStyle } from './blockStyle.js';
import type { ConvStackShape } from './convStack.js';

/**
 * Checks the fields a config shares with ConvStackShape (an InvalidArgumentError naming `config.<field>`);
 * `zChannelsField` is what the family's config calls the latent width.
 */
export function checkConvStackShape(shape: ConvStackShape, style: BlockStyle, zChannelsField: string): void {
  checkNumber(shape.ch, 'config.ch', { min: 1, integer: true });
  checkNumber(shape.zChannels, `config.${zChannelsField}`, { min: 1, integer: true });
  checkNumber(shape.numResBlocks, 'config.numResBlocks', { min: 1, integer: true });
  if (!Array.isArray(shape.chMult) || shape.chMult.length === 0) {
    throw new InvalidArgumentError('config.chMult', 'a non-empty array of positive integers', String(shape.chMult));
  }
  shape.chMult.forEach((m, i) => checkNumber(m, `config.chMult[${i}]`, { min: 1, integer: true }));
  // Every width after conv_in is normalised, so each must split into the family's GroupNorm groups.
  const widths = [shape.ch, ...shape.chMult.map((m) => shape.ch * m)];
  const bad = widths.find((w) => w % style.groups(w) !== 0);
  if (bad !== undefined) {
    throw new InvalidArgumentError(
      'config.ch',
      `level widths ch·chMult[l] that split into GroupNorm's ${style.groups(bad)} groups`,
      `ch ${shape.ch}, chMult [${shape.chMult.join(', ')}]: width ${bad}`,
    );
  }
}
