import type { Raster } from '../raster.js';

// A 3 × 5 pixel font for grid labels (upper case, digits and the punctuation of class names), so the CLI needs no
// font files or canvas library. Each glyph is five rows of three columns, top to bottom, '#' = ink.
const GLYPHS: Record<string, string> = {
  'A': '.#. #.# ### #.# #.#',
  'B': '##. #.# ##. #.# ##.',
  'C': '.## #.. #.. #.. .##',
  'D': '##. #.# #.# #.# ##.',
  'E': '### #.. ##. #.. ###',
  'F': '### #.. ##. #.. #..',
  'G': '.## #.. #.# #.# .##',
  'H': '#.# #.# ### #.# #.#',
  'I': '### .#. .#. .#. ###',
  'J': '..# ..# ..# #.# .#.',
  'K': '#.# #.# ##. #.# #.#',
  'L': '#.. #.. #.. #.. ###',
  'M': '#.# ### ### #.# #.#',
  'N': '##. #.# #.# #.# #.#',
  'O': '.#. #.# #.# #.# .#.',
  'P': '##. #.# ##. #.. #..',
  'Q': '.#. #.# #.# ##. .##',
  'R': '##. #.# ##. #.# #.#',
  'S': '.## #.. .#. ..# ##.',
  'T': '### .#. .#. .#. .#.',
  'U': '#.# #.# #.# #.# ###',
  'V': '#.# #.# #.# #.# .#.',
  'W': '#.# #.# ### ### #.#',
  'X': '#.# #.# .#. #.# #.#',
  'Y': '#.# #.# .#. .#. .#.',
  'Z': '### ..# .#. #.. ###',
  '0': '### #.# #.# #.# ###',
  '1': '.#. ##. .#. .#. ###',
  '2': '##. ..# .#. #.. ###',
  '3': '##. ..# .#. ..# ##.',
  '4': '#.# #.# ### ..# ..#',
  '5': '### #.. ##. ..# ##.',
  '6': '.## #.. ### #.# ###',
  '7': '### ..# .#. .#. .#.',
  '8': '### #.# ### #.# ###',
  '9': '### #.# ### ..# ##.',
  '-': '... ... ### ... ...',
  '/': '..# ..# .#. #.. #..',
  '.': '... ... ... ... .#.',
  ':': '... .#. ... .#. ...',
  '(': '.#. #.. #.. #.. .#.',
  ')': '.#. ..# ..# ..# .#.',
  '_': '... ... ... ... ###',
  ' ': '... ... ... ... ...',
};

const WIDTH = 3;
const HEIGHT = 5;

function glyph(ch: string): string {
  // Characters the font lacks are drawn as a dash.
  return (GLYPHS[ch.toUpperCase()] ?? GLYPHS['-']!).replaceAll(' ', '');
}

/** Width in pixels of `text` drawn at `scale` (one blank column between glyphs). */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * (WIDTH + 1) - 1) * scale;
}

/** Height in pixels of a line of text at `scale`. */
export function textHeight(scale: number): number {
  return HEIGHT * scale;
}

/** Draws `text` into an RGB raster with its top-left corner at (x, y), in `colour` (RGB in [0, 1]). */
export function drawText(raster: Raster, text: string, x: number, y: number, scale: number, colour: readonly [number, number, number]): void {
  [...text].forEach((ch, i) => {
    const rows = glyph(ch);
    const left = x + i * (WIDTH + 1) * scale;
    for (let gy = 0; gy < HEIGHT; gy++) {
      for (let gx = 0; gx < WIDTH; gx++) {
        if (rows[gy * WIDTH + gx] !== '#') continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = left + gx * scale + dx;
            const py = y + gy * scale + dy;
            if (px < 0 || py < 0 || px >= raster.width || py >= raster.height) continue;
            const at = (py * raster.width + px) * raster.channels;
            for (let c = 0; c < raster.channels; c++) raster.data[at + c] = colour[raster.channels === 1 ? 0 : c]!;
          }
        }
      }
    }
  });
}
