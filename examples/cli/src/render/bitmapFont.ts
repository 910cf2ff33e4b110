import type { Raster } from '../raster.js';

// A 3 × 5 pixel font (lower case is drawn as upper case) for the labels of plots, charts and image grids, so the CLI
// needs no font files or canvas library. Each glyph is five rows of three columns, top to bottom, '1' = ink.
const GLYPHS: Record<string, string> = {
  '0': '111 101 101 101 111',
  '1': '010 110 010 010 111',
  '2': '111 001 111 100 111',
  '3': '111 001 011 001 111',
  '4': '101 101 111 001 001',
  '5': '111 100 111 001 111',
  '6': '111 100 111 101 111',
  '7': '111 001 010 010 010',
  '8': '111 101 111 101 111',
  '9': '111 101 111 001 111',
  A: '010 101 111 101 101',
  B: '110 101 110 101 110',
  C: '011 100 100 100 011',
  D: '110 101 101 101 110',
  E: '111 100 110 100 111',
  F: '111 100 110 100 100',
  G: '011 100 101 101 011',
  H: '101 101 111 101 101',
  I: '111 010 010 010 111',
  J: '001 001 001 101 010',
  K: '101 101 110 101 101',
  L: '100 100 100 100 111',
  M: '101 111 111 101 101',
  N: '110 101 101 101 101',
  O: '010 101 101 101 010',
  P: '110 101 110 100 100',
  Q: '010 101 101 110 011',
  R: '110 101 110 101 101',
  S: '011 100 010 001 110',
  T: '111 010 010 010 010',
  U: '101 101 101 101 111',
  V: '101 101 101 101 010',
  W: '101 101 111 111 101',
  X: '101 101 010 101 101',
  Y: '101 101 010 010 010',
  Z: '111 001 010 100 111',
  '.': '000 000 000 000 010',
  ',': '000 000 000 010 100',
  ':': '000 010 000 010 000',
  '-': '000 000 111 000 000',
  '+': '000 010 111 010 000',
  '=': '000 111 000 111 000',
  '/': '001 001 010 100 100',
  '(': '010 100 100 100 010',
  ')': '010 001 001 001 010',
  '_': '000 000 000 000 111',
  ' ': '000 000 000 000 000',
};

export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;

/** Width in pixels of `text` at `scale` (one blank column between glyphs). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_WIDTH + 1) - 1) * scale;
}

/** Height in pixels of a line of text at `scale`. */
export function textHeight(scale = 1): number {
  return GLYPH_HEIGHT * scale;
}

/** Draws `text` into a raster with its top-left corner at (x, y), clipped to the raster; unknown characters as blanks. */
export function drawText(raster: Raster, text: string, x: number, y: number, colour: readonly [number, number, number], scale = 1): void {
  [...text.toUpperCase()].forEach((ch, i) => {
    const rows = (GLYPHS[ch] ?? GLYPHS[' ']!).split(' ');
    rows.forEach((row, gy) => {
      [...row].forEach((bit, gx) => {
        if (bit !== '1') return;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            setPixel(raster, x + (i * (GLYPH_WIDTH + 1) + gx) * scale + sx, y + gy * scale + sy, colour);
          }
        }
      });
    });
  });
}

/** Sets one pixel, clipped to the raster; a grey raster takes the colour's first component. */
export function setPixel(raster: Raster, x: number, y: number, colour: readonly [number, number, number]): void {
  if (x < 0 || y < 0 || x >= raster.width || y >= raster.height) return;
  const at = (y * raster.width + x) * raster.channels;
  for (let c = 0; c < raster.channels; c++) raster.data[at + c] = colour[raster.channels === 1 ? 0 : c]!;
}
