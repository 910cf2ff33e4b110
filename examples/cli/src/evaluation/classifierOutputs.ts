import * as tf from '@tensorflow/tfjs';
import { resize } from '@nextdetail/core';
import type { FeatureMatrix } from '@nextdetail/eval';
import type { FashionClassifier } from '../classifier/fashionClassifier.js';
import { FEATURE_DIM } from '../classifier/fashionClassifier.js';
import { batchTensors, type LabelledImages } from '../data/labelledImages.js';

/** What the classifier says about an image set: penultimate features (FID, PR, KID) and logits (IS, accuracy). */
export interface ClassifierOutputs {
  features: FeatureMatrix;
  logits: FeatureMatrix;
}

/** Runs the classifier over `set` in batches; images of another size are resized to 32 × 32 (area or bicubic). */
export async function classifierOutputs(classifier: FashionClassifier, set: LabelledImages, batchSize = 200): Promise<ClassifierOutputs> {
  const features = new Float32Array(set.count * FEATURE_DIM);
  const logits = new Float32Array(set.count * 10);
  for (let start = 0; start < set.count; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
    const { images_BHWC, labels_B } = batchTensors(set, idx);
    const side = Math.max(set.height, set.width);
    const x = side === 32 && set.height === set.width ? images_BHWC : resize(images_BHWC, [32, 32], side > 32 ? 'area' : 'bicubic');
    const [f, l] = classifier.featuresAndLogits(x);
    features.set(await f.data(), start * FEATURE_DIM);
    logits.set(await l.data(), start * 10);
    tf.dispose([images_BHWC, labels_B, x, f, l]);
  }
  return { features: { data: features, rows: set.count, dim: FEATURE_DIM }, logits: { data: logits, rows: set.count, dim: 10 } };
}

/** Fraction of rows whose arg-max logit is `labels[row]`. */
export function top1Accuracy(logits: FeatureMatrix, labels: Int32Array): number {
  let hits = 0;
  for (let r = 0; r < logits.rows; r++) {
    let best = 0;
    for (let c = 1; c < logits.dim; c++) if (logits.data[r * logits.dim + c]! > logits.data[r * logits.dim + best]!) best = c;
    if (best === labels[r]) hits++;
  }
  return hits / logits.rows;
}

/** Top-1 accuracy of each class present in `labels`, by class name. */
export function perClassAccuracy(logits: FeatureMatrix, labels: Int32Array, classNames: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  classNames.forEach((name, c) => {
    const rows = [...labels.keys()].filter((i) => labels[i] === c);
    if (rows.length === 0) return;
    const data = new Float32Array(rows.length * logits.dim);
    rows.forEach((r, i) => data.set(logits.data.subarray(r * logits.dim, (r + 1) * logits.dim), i * logits.dim));
    out[name] = top1Accuracy({ data, rows: rows.length, dim: logits.dim }, Int32Array.from(rows, () => c));
  });
  return out;
}
