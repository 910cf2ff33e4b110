import { contactSheet } from './render/contactSheet.js';
import type { Raster } from './raster.js';
import { edgeFieldToGrey, visualiseDetail } from './visualise.js';

/** A decomposition downloaded from the backend, still in float. */
export interface Layers {
  input: Raster;
  base: Raster;
  details: Raster[];
  edges: Raster[];
  reconstruction: Raster;
}

export interface OutputImage {
  file: string;
  raster: Raster;
  /** Shown next to the file name, e.g. the gain of a detail layer. */
  note?: string;
}

/**
 * The files `nextdetail decompose` writes: base.png, detail_k.png (0.5 + gain·D_k), edges_k.png (v_k as grey),
 * reconstruction.png (B + ΣD) and sheet.png (input | base | details | edges).
 */
export function layerImages(layers: Layers): OutputImage[] {
  const details = layers.details.map((d, i) => {
    const { raster, gain } = visualiseDetail(d);
    return { file: `detail_${i + 1}.png`, raster, note: `gain ${gain.toPrecision(3)}` };
  });
  const edges = layers.edges.map((v, i) => ({ file: `edges_${i + 1}.png`, raster: edgeFieldToGrey(v) }));
  const sheet = contactSheet([layers.input, layers.base, ...details.map((d) => d.raster), ...edges.map((e) => e.raster)]);
  const layout = ['input', 'base', ...details.map((_, i) => `D_${i + 1}`), ...edges.map((_, i) => `v_${i + 1}`)].join(' | ');
  return [
    { file: 'base.png', raster: layers.base },
    ...details,
    ...edges,
    { file: 'reconstruction.png', raster: layers.reconstruction },
    { file: 'sheet.png', raster: sheet, note: layout },
  ];
}
