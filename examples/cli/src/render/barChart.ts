import type { Raster } from '../raster.js';
import { drawText, setPixel, textHeight, textWidth } from './bitmapFont.js';
import { formatValue } from './lossPlot.js';

type Colour = readonly [number, number, number];

/** One bar of a panel: its label under it, its value (NaN draws no bar) and its colour. */
export interface Bar {
  label: string;
  value: number;
  colour: Colour;
}

/** A panel of bars on its own axis from 0, titled above (e.g. "FID (lower is better)"). */
export interface BarPanel {
  title: string;
  bars: readonly Bar[];
}

const BAR = 26;
const GAP = 10;
const PLOT_HEIGHT = 180;
const MARGIN = 16;
const TITLE_SCALE = 2;
const INK: Colour = [0, 0, 0];
const AXIS: Colour = [0.6, 0.6, 0.6];

/**
 * Panels of vertical bars side by side on white, each with its own scale from 0 to a little above its largest value,
 * the value printed above every bar and the bar's label under it. Metrics of different units (FID, precision, …)
 * each get a panel, so no one of them flattens the others.
 */
export function barChart(panels: readonly BarPanel[]): Raster {
  const panelWidth = (p: BarPanel) =>
    Math.max(textWidth(p.title, TITLE_SCALE), p.bars.length * (BAR + GAP) - GAP);
  const widths = panels.map(panelWidth);
  const top = MARGIN + textHeight(TITLE_SCALE) + 8 + textHeight() + 4;
  const height = top + PLOT_HEIGHT + 6 + textHeight() + MARGIN;
  const width = widths.reduce((sum, w) => sum + w + 2 * MARGIN, 0);
  const raster: Raster = { width, height, channels: 3, data: new Float32Array(width * height * 3).fill(1) };
  const baseline = top + PLOT_HEIGHT;
  let left = MARGIN;
  panels.forEach((panel, p) => {
    const w = widths[p]!;
    drawText(raster, panel.title, left + Math.floor((w - textWidth(panel.title, TITLE_SCALE)) / 2), MARGIN, INK, TITLE_SCALE);
    const finite = panel.bars.map((b) => b.value).filter((v) => Number.isFinite(v) && v > 0);
    const max = finite.length > 0 ? Math.max(...finite) * 1.1 : 1;
    const barsLeft = left + Math.floor((w - (panel.bars.length * (BAR + GAP) - GAP)) / 2);
    fillRect(raster, left, baseline, w, 1, AXIS);
    panel.bars.forEach((bar, b) => {
      const x = barsLeft + b * (BAR + GAP);
      const centre = x + Math.floor(BAR / 2);
      const text = Number.isFinite(bar.value) ? formatValue(bar.value) : 'n/a';
      const h = Number.isFinite(bar.value) ? Math.round((Math.max(0, bar.value) / max) * PLOT_HEIGHT) : 0;
      fillRect(raster, x, baseline - h, BAR, h, bar.colour);
      drawText(raster, text, centre - Math.floor(textWidth(text) / 2), baseline - h - textHeight() - 3, INK);
      drawText(raster, bar.label, centre - Math.floor(textWidth(bar.label) / 2), baseline + 6, INK);
    });
    left += w + 2 * MARGIN;
  });
  return raster;
}

function fillRect(raster: Raster, x: number, y: number, w: number, h: number, colour: Colour): void {
  for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) setPixel(raster, xx, yy, colour);
}
