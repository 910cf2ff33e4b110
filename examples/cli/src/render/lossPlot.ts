import type { Raster } from '../raster.js';
import { drawText, GLYPH_HEIGHT, setPixel, textWidth } from './bitmapFont.js';

const WIDTH = 560;
const HEIGHT = 300;
const MARGIN = { left: 64, right: 16, top: 16, bottom: 28 };
const SCALE = 2;
const COLOURS: readonly (readonly [number, number, number])[] = [
  [0.12, 0.47, 0.71],
  [0.84, 0.15, 0.16],
  [0.17, 0.63, 0.17],
  [1.0, 0.5, 0.05],
  [0.58, 0.4, 0.74],
  [0.55, 0.34, 0.29],
];
const AXIS: readonly [number, number, number] = [0, 0, 0];
const GRID: readonly [number, number, number] = [0.88, 0.88, 0.88];

/**
 * Loss curves on one log-scale plot: a line per term (one value per step), axes with the step range and the min and
 * max loss as labels, and a legend of the terms in their colours. Non-positive values are drawn at the floor.
 */
export function lossPlot(series: Readonly<Record<string, readonly number[]>>): Raster {
  const raster: Raster = { width: WIDTH, height: HEIGHT, channels: 3, data: new Float32Array(WIDTH * HEIGHT * 3).fill(1) };
  const terms = Object.entries(series).filter(([, v]) => v.length > 0);
  const finite = terms.flatMap(([, v]) => v.filter((x) => Number.isFinite(x) && x > 0));
  const steps = Math.max(1, ...terms.map(([, v]) => v.length));
  const lo = finite.length > 0 ? Math.min(...finite) : 1;
  const hi = finite.length > 0 ? Math.max(...finite) : 1;
  const [logLo, logHi] = lo === hi ? [Math.log10(lo) - 0.5, Math.log10(hi) + 0.5] : [Math.log10(lo), Math.log10(hi)];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (step: number) => MARGIN.left + (steps === 1 ? plotW / 2 : (step / (steps - 1)) * plotW);
  const py = (value: number) => {
    const v = Math.log10(Math.max(value > 0 && Number.isFinite(value) ? value : lo, lo));
    return MARGIN.top + (1 - (v - logLo) / (logHi - logLo)) * plotH;
  };

  for (let k = 1; k < 4; k++) line(raster, MARGIN.left, MARGIN.top + (k * plotH) / 4, MARGIN.left + plotW, MARGIN.top + (k * plotH) / 4, GRID);
  line(raster, MARGIN.left, MARGIN.top, MARGIN.left, MARGIN.top + plotH, AXIS);
  line(raster, MARGIN.left, MARGIN.top + plotH, MARGIN.left + plotW, MARGIN.top + plotH, AXIS);
  const labelY = (value: number) => Math.round(py(value) - (GLYPH_HEIGHT * SCALE) / 2);
  drawText(raster, formatValue(hi), MARGIN.left - 6 - textWidth(formatValue(hi), SCALE), labelY(hi), AXIS, SCALE);
  drawText(raster, formatValue(lo), MARGIN.left - 6 - textWidth(formatValue(lo), SCALE), labelY(lo), AXIS, SCALE);
  const bottom = MARGIN.top + plotH + 8;
  drawText(raster, 'step 1', MARGIN.left, bottom, AXIS, SCALE);
  const last = `${steps}`;
  drawText(raster, last, MARGIN.left + plotW - textWidth(last, SCALE), bottom, AXIS, SCALE);

  terms.forEach(([name, values], t) => {
    const colour = COLOURS[t % COLOURS.length]!;
    for (let i = 1; i < values.length; i++) line(raster, px(i - 1), py(values[i - 1]!), px(i), py(values[i]!), colour);
    if (values.length === 1) setPixel(raster, Math.round(px(0)), Math.round(py(values[0]!)), colour);
    const legendX = MARGIN.left + plotW - textWidth(name, SCALE) - 4;
    drawText(raster, name, legendX, MARGIN.top + 4 + t * (GLYPH_HEIGHT + 2) * SCALE, colour, SCALE);
  });
  return raster;
}

/** A short label: 3 significant digits, exponent form outside [0.01, 10^4). */
export function formatValue(v: number): string {
  return v !== 0 && (Math.abs(v) < 0.01 || Math.abs(v) >= 1e4) ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}

/** A one-pixel line (DDA). */
function line(raster: Raster, x0: number, y0: number, x1: number, y1: number, colour: readonly [number, number, number]): void {
  const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
  for (let i = 0; i <= n; i++) setPixel(raster, Math.round(x0 + ((x1 - x0) * i) / n), Math.round(y0 + ((y1 - y0) * i) / n), colour);
}
