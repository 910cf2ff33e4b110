import type { Raster } from '../raster.js';
import { drawText, textHeight, textWidth } from './bitmapFont.js';

/** One row of the grid: a label drawn to its left and its images, left to right. */
export interface GridRow {
  label: string;
  tiles: readonly Raster[];
}

const GAP = 2;
const FONT_SCALE = 2;
const BACKGROUND = 1;
const INK: [number, number, number] = [0, 0, 0];

/** Integer upscale that makes tiles at least 64 px (32 × 32 Fashion-MNIST samples are too small to look at 1:1). */
export function tileScale(side: number): number {
  return Math.max(1, Math.ceil(64 / side));
}

/** The grid's size in pixels: a label column as wide as the longest label, then `columns` tiles per row. */
export function gridSize(rows: number, columns: number, tile: readonly [number, number], longestLabel: number): [number, number] {
  const [th, tw] = tile;
  const labelWidth = longestLabel === 0 ? 0 : textWidth('x'.repeat(longestLabel), FONT_SCALE) + 2 * GAP;
  const rowHeight = Math.max(th, textHeight(FONT_SCALE));
  return [rows * rowHeight + (rows + 1) * GAP, labelWidth + columns * tw + (columns + 1) * GAP];
}

function upscale(tile: Raster, scale: number): Raster {
  const width = tile.width * scale;
  const height = tile.height * scale;
  const data = new Float32Array(width * height * tile.channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (Math.floor(y / scale) * tile.width + Math.floor(x / scale)) * tile.channels;
      data.set(tile.data.subarray(from, from + tile.channels), (y * width + x) * tile.channels);
    }
  }
  return { width, height, channels: tile.channels, data };
}

/**
 * A labelled RGB contact grid on white: one row per label (upper-cased) with its images, each upscaled by `scale`
 * (nearest neighbour, so generated pixels stay visible as pixels). Every tile must have one size.
 */
export function labelledGrid(rows: readonly GridRow[], scale: number): Raster {
  const first = rows[0]?.tiles[0];
  if (!first) throw new Error('a grid needs at least one image');
  const tile: [number, number] = [first.height * scale, first.width * scale];
  const columns = Math.max(...rows.map((r) => r.tiles.length));
  const longest = Math.max(...rows.map((r) => r.label.length));
  const [height, width] = gridSize(rows.length, columns, tile, longest);
  const labelWidth = longest === 0 ? 0 : textWidth('x'.repeat(longest), FONT_SCALE) + 2 * GAP;
  const rowHeight = Math.max(tile[0], textHeight(FONT_SCALE));
  const grid: Raster = { width, height, channels: 3, data: new Float32Array(width * height * 3).fill(BACKGROUND) };
  rows.forEach((row, r) => {
    const top = GAP + r * (rowHeight + GAP);
    drawText(grid, row.label, GAP, top + Math.floor((rowHeight - textHeight(FONT_SCALE)) / 2), INK, FONT_SCALE);
    row.tiles.forEach((t, c) => {
      if (t.width !== first.width || t.height !== first.height) throw new Error('grid tiles must have one size');
      const big = upscale(t, scale);
      const left = labelWidth + GAP + c * (tile[1] + GAP);
      for (let y = 0; y < big.height; y++) {
        for (let x = 0; x < big.width; x++) {
          const to = ((top + y) * width + left + x) * 3;
          const from = (y * big.width + x) * big.channels;
          for (let ch = 0; ch < 3; ch++) grid.data[to + ch] = big.data[from + (big.channels === 1 ? 0 : ch)]!;
        }
      }
    });
  });
  return grid;
}
