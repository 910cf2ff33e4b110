import * as tf from '@tensorflow/tfjs';
import type { Tokenizer, NvgTokenizer } from '@nextdetail/tokenizers';
import type { NvgGenerator, ScaleGenerator } from '@nextdetail/transformer';
import { generate } from '@nextdetail/samplers';
import type { Raster } from '../raster.js';
import { rastersFromImages } from '../render/imageRasters.js';
import { labelledGrid, tileScale } from '../render/labelledGrid.js';

const PREVIEW_FLOW_STEPS = 10;

/**
 * `perClass` generated images of every class, one labelled row per class, drawn with `generate` from `seed` (the same
 * seed after every epoch, so the grids show how one set of draws improves). NVG's structure flow takes 10 Euler steps
 * here rather than 25: the grids are progress previews, and the flow dominates their cost on wasm.
 */
export async function sampleGrid(
  tokenizer: Tokenizer,
  generator: ScaleGenerator | NvgGenerator,
  classNames: readonly string[],
  { perClass, seed }: { perClass: number; seed: number },
): Promise<Raster> {
  const labels = classNames.flatMap((_, c) => Array.from({ length: perClass }, () => c));
  const { images_BHWC, plan } =
    tokenizer.family === 'nvg'
      ? await generate(tokenizer as NvgTokenizer, generator as NvgGenerator, { labels, seed, structureSteps: PREVIEW_FLOW_STEPS })
      : await generate(tokenizer, generator as ScaleGenerator, { labels, seed });
  try {
    const tiles = await rastersFromImages(images_BHWC);
    return labelledGrid(
      classNames.map((label, c) => ({ label, tiles: tiles.slice(c * perClass, (c + 1) * perClass) })),
      tileScale(Math.max(images_BHWC.shape[1], images_BHWC.shape[2])),
    );
  } finally {
    tf.dispose([images_BHWC, plan]);
  }
}
