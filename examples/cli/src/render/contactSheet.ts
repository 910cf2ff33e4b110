import type { Raster } from '../raster.js';

/** Equal-sized images side by side in one RGB row, separated by white gaps; grey images are repeated into RGB. */
export function contactSheet(tiles: readonly Raster[], gap = 4): Raster {
  const { width, height } = tiles[0]!;
  const sheetWidth = tiles.length * width + (tiles.length - 1) * gap;
  const data = new Float32Array(sheetWidth * height * 3).fill(1);
  tiles.forEach((tile, i) => {
    if (tile.width !== width || tile.height !== height) throw new Error('contact sheet tiles must have one size');
    const left = i * (width + gap);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const to = (y * sheetWidth + left + x) * 3;
        const from = (y * width + x) * tile.channels;
        for (let c = 0; c < 3; c++) data[to + c] = tile.data[from + (tile.channels === 1 ? 0 : c)]!;
      }
    }
  });
  return { width: sheetWidth, height, channels: 3, data };
}
