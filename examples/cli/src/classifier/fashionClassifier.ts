import * as tf from '@tensorflow/tfjs';
import { checkTensor, describeShape, RandomGenerator, readSafetensors, ShapeError, writeSafetensors } from '@nextdetail/core';

/** Width of the penultimate layer: the features FID-style metrics are computed on. */
export const FEATURE_DIM = 128;

// conv 3×3 → ReLU → 2×2 max-pool, three times (32 → 4), then dense 512 → 128 (features) → 10 (logits). Small enough to
// train on a CPU in minutes, deep enough for ~90 % Fashion-MNIST test accuracy.
const CONVS = [
  ['conv1', 1, 16],
  ['conv2', 16, 32],
  ['conv3', 32, 32],
] as const;
const SHAPES: Record<string, number[]> = {
  ...Object.fromEntries(CONVS.flatMap(([n, i, o]) => [[`${n}.weight`, [3, 3, i, o]], [`${n}.bias`, [o]]])),
  'fc1.weight': [4 * 4 * 32, FEATURE_DIM],
  'fc1.bias': [FEATURE_DIM],
  'fc2.weight': [FEATURE_DIM, 10],
  'fc2.bias': [10],
};

/**
 * A small Fashion-MNIST classifier whose penultimate activations serve as the feature space for FID, precision and
 * recall of generated samples (the Inception network's features mean little on 32 × 32 clothing). Input: NHWC images in
 * [−1, 1] at 32 × 32; RGB is averaged to grey.
 */
export class FashionClassifier {
  private constructor(readonly params: Map<string, tf.Variable>) {}

  /** He-normal weights and zero biases from `seed`. */
  static init(seed: number): FashionClassifier {
    const rng = new RandomGenerator(seed);
    const params = new Map<string, tf.Variable>();
    for (const [name, shape] of Object.entries(SHAPES)) {
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const init = name.endsWith('.bias') ? tf.zeros(shape) : rng.normal(shape, 0, Math.sqrt(2 / fanIn));
      params.set(name, tf.variable(init, true));
      init.dispose();
    }
    return new FashionClassifier(params);
  }

  static async fromSafetensors(bytes: Uint8Array): Promise<FashionClassifier> {
    const file = await readSafetensors(bytes);
    const params = new Map<string, tf.Variable>();
    try {
      for (const [name, shape] of Object.entries(SHAPES)) {
        const t = await file.tensor(name);
        if (t.shape.join() !== shape.join()) {
          t.dispose();
          throw new ShapeError(name, describeShape(shape), describeShape(t.shape));
        }
        params.set(name, tf.variable(t, false));
        t.dispose();
      }
    } catch (err) {
      for (const v of params.values()) v.dispose();
      throw err;
    }
    return new FashionClassifier(params);
  }

  async toSafetensors(metadata: Record<string, string> = {}): Promise<Uint8Array> {
    const tensors: Record<string, tf.Tensor> = Object.fromEntries(this.params);
    return writeSafetensors(tensors, metadata);
  }

  private p(name: string): tf.Variable {
    return this.params.get(name)!;
  }

  /** Penultimate-layer features [B, 128]. */
  features(images_BHWC: tf.Tensor4D): tf.Tensor2D {
    checkTensor(images_BHWC, 'images_BHWC', { rank: 4, dtype: 'float32' });
    const [, H, W, C] = images_BHWC.shape;
    if (H !== 32 || W !== 32 || (C !== 1 && C !== 3)) {
      throw new ShapeError('images_BHWC', '[B, 32, 32, 1 or 3]', describeShape(images_BHWC.shape));
    }
    return tf.tidy(() => {
      let x: tf.Tensor4D = C === 3 ? tf.mean(images_BHWC, 3, true) : images_BHWC;
      for (const [name] of CONVS) {
        x = tf.relu(tf.add(tf.conv2d(x, this.p(`${name}.weight`) as tf.Tensor4D, 1, 'same'), this.p(`${name}.bias`))) as tf.Tensor4D;
        x = tf.maxPool(x, 2, 2, 'valid');
      }
      const flat = tf.reshape(x, [x.shape[0], -1]);
      return tf.relu(tf.add(tf.matMul(flat, this.p('fc1.weight')), this.p('fc1.bias'))) as tf.Tensor2D;
    });
  }

  /** Class logits [B, 10]. */
  logits(images_BHWC: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.head(this.features(images_BHWC)));
  }

  /** Features [B, 128] and class logits [B, 10] from one pass. */
  featuresAndLogits(images_BHWC: tf.Tensor4D): [tf.Tensor2D, tf.Tensor2D] {
    const features = this.features(images_BHWC);
    return [features, tf.tidy(() => this.head(features))];
  }

  private head(features_BF: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(features_BF, this.p('fc2.weight')), this.p('fc2.bias')) as tf.Tensor2D;
  }

  /** Predicted classes, int32 [B]. */
  predict(images_BHWC: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => tf.cast(tf.argMax(this.logits(images_BHWC), 1), 'int32') as tf.Tensor1D);
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}
