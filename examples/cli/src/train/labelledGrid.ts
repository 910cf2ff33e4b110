import type { Raster } from '../raster.js';
import { drawText, GLYPH_HEIGHT, textWidth } from './bitmapFont.js';

const GAP = 2;
const TEXT_SCALE = 1;

/**
 * Equal-sized images in labelled rows (the row's label on its left), each tile enlarged `zoom`× by pixel repetition
 * so 32 px images stay legible; white background, black labels. Grey tiles are repeated into RGB.
 */
export function labelledGrid(rows: readonly { label: string; tiles: readonly Raster[] }[], zoom = 2): Raster {
  const tile = rows.find((r) => r.tiles.length > 0)?.tiles[0];
  if (!tile) throw new Error('labelledGrid needs at least one tile');
  const [tw, th] = [tile.width * zoom, tile.height * zoom];
  const labelWidth = Math.max(0, ...rows.map((r) => textWidth(r.label, TEXT_SCALE))) + 2 * GAP;
  const columns = Math.max(...rows.map((r) => r.tiles.length));
  const width = labelWidth + columns * (tw + GAP);
  const height = rows.length * (th + GAP) + GAP;
  const out: Raster = { width, height, channels: 3, data: new Float32Array(width * height * 3).fill(1) };
  rows.forEach((row, r) => {
    const top = GAP + r * (th + GAP);
    drawText(out, row.label, GAP, top + Math.floor((th - GLYPH_HEIGHT * TEXT_SCALE) / 2), [0, 0, 0], TEXT_SCALE);
    row.tiles.forEach((t, c) => {
      if (t.width !== tile.width || t.height !== tile.height) throw new Error('labelledGrid tiles must have one size');
      const left = labelWidth + c * (tw + GAP);
      for (let y = 0; y < th; y++) {
        for (let x = 0; x < tw; x++) {
          const from = (Math.floor(y / zoom) * t.width + Math.floor(x / zoom)) * t.channels;
          const to = ((top + y) * width + left + x) * 3;
          for (let ch = 0; ch < 3; ch++) out.data[to + ch] = t.data[from + (t.channels === 1 ? 0 : ch)]!;
        }
      }
    });
  });
  return out;
}
