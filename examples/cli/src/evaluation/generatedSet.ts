import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Pipeline } from '@nextdetail/samplers';
import type { LabelledImages } from '../data/labelledImages.js';
import { disposeGeneration } from '../generation/disposeGeneration.js';
import { rastersFromImages } from '../render/imageRasters.js';
import { sampleImages } from '../generation/sampleImages.js';
import type { SamplingFlags } from '../generation/samplingOptions.js';
import { decodePng, encodePng } from '../png.js';
import type { Raster } from '../raster.js';
import { GenerationRecord, type GenerationSettings } from './generationRecord.js';

export interface GeneratedSetOptions {
  count: number;
  batchSize: number;
  sampling: SamplingFlags;
  /** Also write every image as `<dir>/<class>/<n>.png` (a folder `--fake` reads back). */
  saveDir?: string;
  /**
   * With saveDir: what the images depend on besides their batch (the model file's hash, the backend, the sampling
   * flags). Batches an earlier call with the same settings and batch size saved there are read back, not generated.
   */
  settings?: GenerationSettings;
  /** The flag saveDir came from, named in errors. */
  saveFlag?: string;
  onBatch?: (done: number) => void;
}

/**
 * `count` images from a pipeline, classes in turn (image i asks for class i mod K), generated in batches whose seeds
 * are `seed`, `seed + 1`, … so any batch size gives a reproducible set. Returned as 8-bit RGB at the model's size.
 * With `saveDir` and `settings`, a batch recorded there with these settings is read back when all its files are
 * still there, and generated again otherwise.
 */
export async function generatedSet(pipeline: Pipeline, options: GeneratedSetOptions): Promise<LabelledImages> {
  const { count, batchSize, sampling, saveDir, settings, saveFlag = 'saveDir', onBatch } = options;
  const classNames = pipeline.info.classNames;
  const labels = Int32Array.from({ length: count }, (_, i) => i % classNames.length);
  const record = saveDir === undefined || settings === undefined ? undefined : await GenerationRecord.open(saveDir, settings, saveFlag);
  const pngPath = (i: number) => join(saveDir!, classNames[labels[i]!]!.replaceAll('/', '-'), `${String(i).padStart(5, '0')}.png`);
  let images: Uint8Array | undefined;
  let H = 0;
  let W = 0;
  const place = (i: number, r: Raster) => {
    [H, W] = [r.height, r.width];
    images ??= new Uint8Array(count * H * W * 3);
    images.set(Uint8Array.from(r.data, (v) => Math.round(v * 255)), i * H * W * 3);
  };
  for (let start = 0, batch = 0; start < count; start += batchSize, batch++) {
    const batchLabels = Array.from(labels.subarray(start, Math.min(count, start + batchSize)));
    if (record?.has(batch, batchLabels.length) && batchLabels.every((_, b) => existsSync(pngPath(start + b)))) {
      for (let b = 0; b < batchLabels.length; b++) {
        place(start + b, decodePng(await readFile(pngPath(start + b))));
      }
      onBatch?.(Math.min(count, start + batchSize));
      continue;
    }
    const generation = await sampleImages(pipeline, batchLabels, { ...sampling, seed: sampling.seed + batch });
    try {
      const rgb = tf.tidy(() => {
        const x = generation.images_BHWC;
        return x.shape[3] === 3 ? x.clone() : tf.tile(x, [1, 1, 1, 3]);
      });
      const rasters = await rastersFromImages(rgb as tf.Tensor4D);
      rgb.dispose();
      for (const [b, r] of rasters.entries()) {
        place(start + b, r);
        if (saveDir !== undefined) {
          await mkdir(dirname(pngPath(start + b)), { recursive: true });
          await writeFile(pngPath(start + b), encodePng(r));
        }
      }
    } finally {
      disposeGeneration(generation);
    }
    await record?.saved(batch, batchLabels.length);
    onBatch?.(Math.min(count, start + batchSize));
  }
  return { images: images!, labels, count, height: H, width: W, channels: 3, classNames };
}
