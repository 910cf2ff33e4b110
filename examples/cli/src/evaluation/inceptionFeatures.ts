import * as tf from '@tensorflow/tfjs';
import { type FeatureMatrix, inceptionFeatureExtractor } from '@nextdetail/eval';
import { loadFidInceptionFile } from '@nextdetail/eval/node';
import { batchTensors, type LabelledImages } from '../data/labelledImages.js';

/** An extractor of FID-Inception pool3 features (2048-d, TTUR's preprocessing) from weights on disk. */
export async function inceptionExtractor(path: string): Promise<{ features(set: LabelledImages): Promise<FeatureMatrix>; dispose(): void }> {
  const model = await loadFidInceptionFile(path);
  const extractor = inceptionFeatureExtractor(model);
  return {
    async features(set) {
      const out = new Float32Array(set.count * extractor.dim);
      const batchSize = 25;
      for (let start = 0; start < set.count; start += batchSize) {
        const idx = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
        const { images_BHWC, labels_B } = batchTensors(set, idx);
        // The extractor reads pixels in [0, 255].
        const pixels = tf.tidy(() => tf.mul(tf.add(images_BHWC, 1), 127.5) as tf.Tensor4D);
        const f = await extractor.extract(pixels);
        out.set(await f.data(), start * extractor.dim);
        tf.dispose([images_BHWC, labels_B, pixels, f]);
      }
      return { data: out, rows: set.count, dim: extractor.dim };
    },
    dispose: () => model.dispose(),
  };
}
