import { PNG } from 'pngjs';
import type { Raster } from './raster.js';

// Palette images report colour type 3, which @types/pngjs leaves out of ColorType.
const PALETTE = 3;

/**
 * Decodes any PNG (grey, RGB, palette, with or without alpha, 1 to 16 bits) to RGB in [0, 1]. Grey is repeated into
 * the three channels. Alpha is dropped rather than composited, so the colour values the file stores are the ones
 * decomposed and reconstructed. 16-bit samples keep their full precision.
 */
export function decodePng(bytes: Buffer): Raster {
  const png = PNG.sync.read(bytes, { skipRescale: true });
  // pngjs expands everything to RGBA; without rescaling, samples stay at the file's bit depth (palette entries are 8-bit).
  const max = (png.colorType as number) === PALETTE ? 255 : 2 ** png.depth - 1;
  const source = png.data as Buffer | Uint16Array;
  const pixels = png.width * png.height;
  const data = new Float32Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) data[p * 3 + c] = source[p * 4 + c]! / max;
  }
  return { width: png.width, height: png.height, channels: 3, data };
}

/** Encodes as an 8-bit grey or RGB PNG. */
export function encodePng(raster: Raster): Buffer {
  const colorType = raster.channels === 1 ? 0 : 2;
  const png = new PNG({ width: raster.width, height: raster.height });
  // Uint8ClampedArray clamps to [0, 255] and rounds, which is exactly the quantisation wanted.
  png.data = Buffer.from(Uint8ClampedArray.from(raster.data, (v) => v * 255).buffer);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false });
}
