import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, describeValue } from '@nextdetail/core';
import type { FidInception, FidInceptionOutputs } from './inception/fidInception.js';
import { NUM_CLASSES, POOL3_DIM } from './inception/architecture.js';
import type { PreprocessMode } from './preprocess.js';

/**
 * Anything that maps images to feature vectors: the FID-Inception network, or a small classifier the user trained
 * (e.g. on Fashion-MNIST, where Inception features mean little). Every metric here works on any extractor's
 * features; only numbers from the FID-Inception network with the `tf1` protocol compare with published FIDs.
 */
export interface FeatureExtractor {
  /** Length of each feature vector. */
  readonly dim: number;
  /**
   * images_BHWC: [B, H, W, C] with pixel values in [0, 255] → features [B, dim] (float32). Must not dispose the
   * input; the caller disposes the result.
   */
  extract(images_BHWC: tf.Tensor4D): Promise<tf.Tensor2D>;
}

/** Which FID-Inception output an extractor returns (see FidInceptionOutputs). */
export type InceptionOutput = 'pool3' | 'spatial' | 'logitsUnbiased' | 'logits';

const DIMS: Record<InceptionOutput, number> = { pool3: POOL3_DIM, spatial: 17 * 17 * 7, logitsUnbiased: NUM_CLASSES, logits: NUM_CLASSES };

/**
 * A FeatureExtractor over the FID-Inception network: `pool3` for FID/precision-recall/KID, `spatial` for sFID (its
 * size assumes 299×299 input), `logitsUnbiased` for IS.
 */
export function inceptionFeatureExtractor(
  model: FidInception,
  { output = 'pool3', preprocess = 'tf1' }: { output?: InceptionOutput; preprocess?: PreprocessMode } = {},
): FeatureExtractor {
  if (!(output in DIMS)) throw new InvalidArgumentError('output', `one of ${Object.keys(DIMS).join(', ')}`, describeValue(output));
  if ((output === 'logits' || output === 'logitsUnbiased') && !model.hasClassifier) {
    throw new InvalidArgumentError('output', 'pool3 or spatial (these weights have no fc layer)', JSON.stringify(output));
  }
  return {
    dim: DIMS[output],
    async extract(images_BHWC) {
      const outputs: FidInceptionOutputs = await model.features(images_BHWC, preprocess);
      const keep = outputs[output]!;
      tf.dispose(Object.values(outputs).filter((t): t is tf.Tensor2D => t !== null && t !== keep));
      return keep;
    },
  };
}

/** Several outputs of one forward pass (e.g. pool3 for FID and logitsUnbiased for IS) without running it twice. */
export async function inceptionOutputs(
  model: FidInception,
  images_BHWC: tf.Tensor4D,
  outputs: readonly InceptionOutput[],
  preprocess: PreprocessMode = 'tf1',
): Promise<Partial<Record<InceptionOutput, tf.Tensor2D>>> {
  const all = await model.features(images_BHWC, preprocess);
  const kept: Partial<Record<InceptionOutput, tf.Tensor2D>> = {};
  for (const name of outputs) {
    const t = all[name];
    if (!t) {
      tf.dispose(Object.values(all).filter((x): x is tf.Tensor2D => x !== null));
      throw new InvalidArgumentError('outputs', 'outputs these weights provide (no fc layer: no logits)', name);
    }
    kept[name] = t;
  }
  tf.dispose(Object.values(all).filter((x): x is tf.Tensor2D => x !== null && !Object.values(kept).includes(x)));
  return kept;
}
