import * as tf from '@tensorflow/tfjs';
import { RandomGenerator } from '@nextdetail/core';
import { batchTensors, type LabelledImages } from '../data/labelledImages.js';
import { FashionClassifier } from './fashionClassifier.js';

export interface TrainClassifierOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Called after every batch with the running mean loss of the epoch. */
  progress?: (event: { epoch: number; step: number; steps: number; loss: number }) => void;
}

/** A seeded permutation of 0 … n − 1 (Fisher–Yates on the generator's uniform draws). */
export function permutation(n: number, rng: RandomGenerator): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const u = rng.uniformArray(n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[i]! * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Adam on softmax cross-entropy, shuffled mini-batches; returns the trained model. */
export async function trainClassifier(set: LabelledImages, options: TrainClassifierOptions): Promise<FashionClassifier> {
  const { epochs, batchSize, learningRate, seed, progress } = options;
  const rng = new RandomGenerator(seed);
  const model = FashionClassifier.init(seed);
  const optimizer = tf.train.adam(learningRate);
  const vars = [...model.params.values()];
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = permutation(set.count, rng);
      const steps = Math.floor(set.count / batchSize);
      let sum = 0;
      for (let step = 0; step < steps; step++) {
        const { images_BHWC, labels_B } = batchTensors(set, order.slice(step * batchSize, (step + 1) * batchSize));
        const loss = optimizer.minimize(
          () => tf.losses.softmaxCrossEntropy(tf.oneHot(labels_B, 10), model.logits(images_BHWC)) as tf.Scalar,
          true,
          vars,
        )!;
        sum += (await loss.data())[0]!;
        tf.dispose([images_BHWC, labels_B, loss]);
        progress?.({ epoch, step: step + 1, steps, loss: sum / (step + 1) });
      }
    }
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    optimizer.dispose();
  }
  return model;
}

/** Top-1 accuracy over a labelled set. */
export async function accuracy(model: FashionClassifier, set: LabelledImages, batchSize = 256): Promise<number> {
  let correct = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
    const { images_BHWC, labels_B } = batchTensors(set, idx);
    const hits = tf.tidy(() => tf.sum(tf.cast(tf.equal(model.predict(images_BHWC), labels_B), 'int32')));
    correct += (await hits.data())[0]!;
    tf.dispose([images_BHWC, labels_B, hits]);
  }
  return correct / set.count;
}
