import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, describeShape } from '@nextdetail/core';
import type { FeatureExtractor } from './featureExtractor.js';
import type { FeatureMatrix } from './featureMatrix.js';
import { StatisticsAccumulator } from './featureStatistics.js';

export interface ExtractOptions {
  /** Keep every feature row too (needed for IS, precision/recall, KID); default false: statistics only. */
  keepFeatures?: boolean;
  /** Add to this accumulator (e.g. to continue a shard) instead of a new one. */
  accumulator?: StatisticsAccumulator;
  /** Called after each batch with the number of images done so far. */
  onProgress?: (done: number) => void;
}

export interface ExtractResult {
  accumulator: StatisticsAccumulator;
  /** All features, rows in batch order; present when `keepFeatures`. */
  features: FeatureMatrix | null;
}

/**
 * Runs `extractor` over batches of images ([B, H, W, C] in [0, 255]; the caller keeps ownership of each batch) and
 * folds the features into float64 statistics as they arrive, so memory does not grow with the number of images
 * unless `keepFeatures`. Leaves no tensors behind.
 */
export async function extractFeatures(
  extractor: FeatureExtractor,
  batches: AsyncIterable<tf.Tensor4D> | Iterable<tf.Tensor4D>,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const dim = extractor.dim;
  const accumulator = options.accumulator ?? new StatisticsAccumulator(dim);
  if (accumulator.dim !== dim) {
    throw new InvalidArgumentError('options.accumulator', `an accumulator of dimension ${dim}`, `dimension ${accumulator.dim}`);
  }
  const kept: Float32Array[] = [];
  let done = 0;
  for await (const batch of batches) {
    const f = await extractor.extract(batch);
    let values: Float32Array;
    try {
      if (f.rank !== 2 || f.shape[0] !== batch.shape[0] || f.shape[1] !== dim) {
        throw new ShapeError('extractor.extract()', `features [${batch.shape[0]}, ${dim}]`, `shape ${describeShape(f.shape)}`);
      }
      values = (await f.data()) as Float32Array;
    } finally {
      f.dispose();
    }
    accumulator.add(values);
    if (options.keepFeatures) kept.push(values);
    done += batch.shape[0];
    options.onProgress?.(done);
  }
  let features: FeatureMatrix | null = null;
  if (options.keepFeatures) {
    const data = new Float32Array(kept.reduce((n, k) => n + k.length, 0));
    let offset = 0;
    for (const k of kept) {
      data.set(k, offset);
      offset += k.length;
    }
    features = { data, rows: data.length / dim, dim };
  }
  return { accumulator, features };
}
