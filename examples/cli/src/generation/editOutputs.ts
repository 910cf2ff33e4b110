import { writeFile } from 'node:fs/promises';
import { contactSheet } from '../render/contactSheet.js';
import { encodePng } from '../png.js';
import type { Raster } from '../raster.js';
import { labelledGrid, tileScale } from '../render/labelledGrid.js';

export interface EditOutputs {
  /** The results, side by side at their own size (one per class). */
  out: string;
  /** The before/after sheet: per class a row input | tokenizer reconstruction | result, upscaled and labelled. */
  sheet: string;
  names: readonly string[];
  /** The input as the model sees it (the hole or the unknown border greyed). */
  before: Raster;
  reconstruction: Raster;
  results: readonly Raster[];
}

export async function writeEditOutputs(o: EditOutputs): Promise<void> {
  await writeFile(o.out, encodePng(contactSheet(o.results)));
  const rows = o.results.map((result, i) => ({ label: o.names[i]!, tiles: [o.before, o.reconstruction, result] }));
  await writeFile(o.sheet, encodePng(labelledGrid(rows, tileScale(Math.max(o.before.width, o.before.height)))));
}

/** `image` with the pixels where `keep_HW` ≤ 0.5 set to mid-grey, to show what the model had to fill in. */
export function greyedOut(image: Raster, keep_HW: Float32Array): Raster {
  const data = Float32Array.from(image.data);
  for (let p = 0; p < image.width * image.height; p++) {
    if (keep_HW[p]! <= 0.5) for (let c = 0; c < image.channels; c++) data[p * image.channels + c] = 0.5;
  }
  return { ...image, data };
}

/** Mean |a − b| over the pixels where the keep mask is > 0.5 (kept) and where it is not (generated), in [0, 1] units. */
export function regionErrors(a: Raster, b: Raster, keep_HW: Float32Array): { kept: number; generated: number } {
  const sums = { kept: 0, generated: 0 };
  const counts = { kept: 0, generated: 0 };
  for (let p = 0; p < a.width * a.height; p++) {
    const region = keep_HW[p]! > 0.5 ? 'kept' : 'generated';
    for (let c = 0; c < a.channels; c++) sums[region] += Math.abs(a.data[p * a.channels + c]! - b.data[p * b.channels + c]!);
    counts[region] += a.channels;
  }
  return { kept: sums.kept / Math.max(1, counts.kept), generated: sums.generated / Math.max(1, counts.generated) };
}
