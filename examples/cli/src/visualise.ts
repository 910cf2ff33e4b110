import type { Raster } from './raster.js';

export interface VisualisedDetail {
  raster: Raster;
  /** The factor applied to D before the 0.5 offset. */
  gain: number;
}

/** Share of detail samples allowed to clip: a few sharp highlights would otherwise set the contrast of a whole layer. */
const CLIPPED_FRACTION = 0.001;

/**
 * Shows a detail layer D (signed, mostly tiny) as 0.5 + gain·D: zero detail is mid-grey. The gain is 0.5 / q, with q
 * the 99.9th percentile of |D|, so each layer is stretched to full contrast with at most 0.1 % of samples clipped, and
 * the printed gains tell how much weaker the coarser layers are.
 */
export function visualiseDetail(detail: Raster): VisualisedDetail {
  const magnitudes = detail.data.map(Math.abs).sort();
  const q = magnitudes[Math.floor((1 - CLIPPED_FRACTION) * (magnitudes.length - 1))]!;
  const gain = q > 0 ? 0.5 / q : 1;
  const data = detail.data.map((v) => 0.5 + gain * v);
  return { raster: { ...detail, data }, gain };
}

/**
 * The edge field per channel as one grey image: the minimum over channels, so an edge in any colour channel shows
 * as dark (v ≈ 0 on edges, 1 in smooth regions).
 */
export function edgeFieldToGrey(edges: Raster): Raster {
  const { width, height, channels } = edges;
  const data = new Float32Array(width * height);
  for (let p = 0; p < data.length; p++) {
    let v = Infinity;
    for (let c = 0; c < channels; c++) v = Math.min(v, edges.data[p * channels + c]!);
    data[p] = v;
  }
  return { width, height, channels: 1, data };
}
