import * as tf from '@tensorflow/tfjs';
import { RandomGenerator, useBackend } from '@nextdetail/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FashionClassifier, FEATURE_DIM } from '../src/classifier/fashionClassifier';
import { accuracy, permutation, trainClassifier } from '../src/classifier/trainClassifier';
import { loadFashionMnist } from '../src/data/fashionMnist';
import { batchTensors } from '../src/data/labelledImages';

beforeAll(async () => {
  // WebAssembly: the plain-JS cpu backend trains convolutions an order of magnitude slower.
  await useBackend('wasm');
  tf.enableProdMode();
});

describe('Fashion-MNIST classifier', () => {
  it('permutes reproducibly by seed', () => {
    const a = permutation(50, new RandomGenerator(1));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(permutation(50, new RandomGenerator(1))).toEqual(a);
    expect(permutation(50, new RandomGenerator(2))).not.toEqual(a);
  });

  it('learns: two epochs on 1000 images beat 60 % on 500 held-out ones, and it round-trips through safetensors', async () => {
    const train = loadFashionMnist({ split: 'train', limit: 1000 });
    const test = loadFashionMnist({ split: 'test', limit: 500 });
    const before = tf.memory().numTensors;
    const model = await trainClassifier(train, { epochs: 2, batchSize: 25, learningRate: 3e-3, seed: 0 });
    const acc = await accuracy(model, test);
    console.log(`Fashion-MNIST classifier: ${(100 * acc).toFixed(1)} % on 500 test images after 2 epochs on 1000`);
    expect(acc).toBeGreaterThan(0.6);

    const copy = await FashionClassifier.fromSafetensors(await model.toSafetensors());
    const { images_BHWC, labels_B } = batchTensors(test, [0, 1, 2, 3]);
    const f1 = model.features(images_BHWC);
    const f2 = copy.features(images_BHWC);
    expect(f1.shape).toEqual([4, FEATURE_DIM]);
    expect(Array.from(await f2.data())).toEqual(Array.from(await f1.data()));
    tf.dispose([images_BHWC, labels_B, f1, f2]);
    model.dispose();
    copy.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects images of the wrong size', () => {
    const model = FashionClassifier.init(0);
    const x = tf.zeros([1, 28, 28, 1]) as tf.Tensor4D;
    expect(() => model.features(x)).toThrow(/\[B, 32, 32, 1 or 3\]/);
    tf.dispose(x);
    model.dispose();
  });
});
