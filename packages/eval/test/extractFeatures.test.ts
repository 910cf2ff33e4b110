import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { extractFeatures, featureStatistics, type FeatureExtractor } from '../src/index.js';
import { thrown } from './goldenInputs.js';

// A user-defined extractor (what a small trained classifier would be): per-channel means and the mean brightness.
const meanColour: FeatureExtractor = {
  dim: 4,
  extract: async (images) =>
    tf.tidy(() => {
      const m = tf.mean(images, [1, 2]) as tf.Tensor2D;
      return tf.concat([m, tf.mean(m, 1, true)], 1) as tf.Tensor2D;
    }),
};

function batch(b: number, offset: number): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.add(tf.sin(tf.add(tf.reshape(tf.range(0, b * 6 * 5 * 3), [b, 6, 5, 3]), offset)), 1), 127.5) as tf.Tensor4D);
}

describe(`extractFeatures with a plugged-in extractor (${backendName()})`, () => {
  it('streams batches into the same statistics as the whole feature matrix, and keeps rows in order', async () => {
    const batches = [batch(3, 0), batch(1, 7), batch(4, 13)];
    let progress = 0;
    const result = await expectNoLeaks(() => extractFeatures(meanColour, batches, { keepFeatures: true, onProgress: (n) => (progress = n) }));
    const all = tf.concat(batches);
    const expected = meanColour.extract(all as tf.Tensor4D);
    const rows = (await (await expected).data()) as Float32Array;
    tf.dispose([all, await expected, ...batches]);
    expect(progress).toBe(8);
    expect(result.features!.rows).toBe(8);
    expect(Array.from(result.features!.data)).toEqual(Array.from(rows));
    const direct = featureStatistics(rows, 4);
    const streamed = result.accumulator.statistics();
    direct.sigma.forEach((v, i) => expect(Math.abs(streamed.sigma[i]! - v)).toBeLessThan(1e-9 * Math.abs(v) + 1e-9));
  });

  it('names an extractor that returns the wrong shape', async () => {
    const wrong: FeatureExtractor = { dim: 5, extract: meanColour.extract };
    const b = batch(2, 0);
    const err = (await thrown(() => expectNoLeaks(() => extractFeatures(wrong, [b])))) as { name: string; argument: string };
    b.dispose();
    expect(err.name).toBe('ShapeError');
    expect(err.argument).toBe('extractor.extract()');
  });
});
