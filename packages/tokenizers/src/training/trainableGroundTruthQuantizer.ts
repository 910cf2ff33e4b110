import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, type RandomGenerator, resize } from '@nextdetail/core';
import { nearestCode } from '../quantizer/nearestCode.js';
import type { PatchSizes } from '../quantizer/patchNums.js';
import type { StateDictEntry } from './checkpoint.js';
import { codebookLookup } from '../kernels/codebookLookup/register.js';
import { detach, straightThrough } from './detach.js';
import { mse } from './losses.js';

export interface TrainableGroundTruthQuantizerConfig {
  vocabSize: number;
  cvae: number;
  /** Commitment weight β (default 0.25, LlamaGen's `commit_loss_beta`). */
  beta?: number;
}

// Type alias rather than an interface, so that tf.dispose(result) accepts it as a tensor container.
export type GroundTruthForward = {
  /** Per scale: the quantised map, the normalised code's value with z's gradient (straight-through), [B, h, w, C]. */
  quantized_BhwC: tf.Tensor4D[];
  /** Σ over scales of the codebook loss mean(q − z.detach)² and β·mean(q.detach − z)². */
  vqLoss: tf.Scalar;
  idx_Bl: tf.Tensor2D[];
};

/** x / max(‖x‖, 1e-12) along the last axis (F.normalize). */
export function l2NormalizeRows<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12)) as T);
}

/**
 * FlexVAR's quantizer in training form (LlamaGen's VectorQuantizer with l2-normalised codes): every scale area(h) is
 * normalised, matched to the nearest normalised code, and passed on straight-through; the codebook is a tf.Variable
 * that GroundTruthMultiScaleQuantizer.fromStateDict reads back from `quantize.embedding.weight`.
 */
// jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py VectorQuantizer.forward (l2_norm=True); FlexVAR paper §3.3, Eq. 5
export class TrainableGroundTruthQuantizer {
  /** A fresh codebook: U(−1/V, 1/V), then row-normalised, as LlamaGen initialises it with l2_norm. */
  static create(config: TrainableGroundTruthQuantizerConfig, rng: RandomGenerator): TrainableGroundTruthQuantizer {
    const { vocabSize, cvae, beta = 0.25 } = config;
    checkNumber(vocabSize, 'config.vocabSize', { integer: true, min: 1 });
    checkNumber(cvae, 'config.cvae', { integer: true, min: 1 });
    checkNumber(beta, 'config.beta', { min: 0 });
    const raw = rng.uniform([vocabSize, cvae], -1 / vocabSize, 1 / vocabSize);
    const normalized = l2NormalizeRows(raw);
    const embedding_VC = tf.variable(normalized, true) as tf.Variable<tf.Rank.R2>;
    tf.dispose([raw, normalized]);
    return new TrainableGroundTruthQuantizer(embedding_VC, beta);
  }

  readonly vocabSize: number;
  readonly cvae: number;

  private constructor(
    readonly embedding_VC: tf.Variable<tf.Rank.R2>,
    readonly beta: number,
  ) {
    [this.vocabSize, this.cvae] = embedding_VC.shape;
  }

  /** Quantises area(h_BHWC) at every size of `sizes` independently (no residual). */
  forward(h_BHWC: tf.Tensor4D, sizes: PatchSizes): GroundTruthForward {
    return tf.tidy(() => {
      const [b, , , c] = h_BHWC.shape;
      const codebook_VC = l2NormalizeRows(this.embedding_VC as tf.Tensor2D);
      const losses: tf.Scalar[] = [];
      const idx_Bl: tf.Tensor2D[] = [];
      const quantized_BhwC = sizes.map(([ph, pw]) => {
        const z_BhwC = l2NormalizeRows(resize(h_BHWC, [ph, pw], 'area'));
        const idx = tf.reshape(nearestCode(tf.reshape(detach(z_BhwC), [b * ph * pw, c]), codebook_VC), [b, ph * pw]) as tf.Tensor2D;
        idx_Bl.push(idx);
        const q_BhwC = tf.reshape(codebookLookup(codebook_VC, idx), [b, ph, pw, c]) as tf.Tensor4D;
        losses.push(tf.add(mse(q_BhwC, detach(z_BhwC)), tf.mul(mse(detach(q_BhwC), z_BhwC), this.beta)));
        return straightThrough(z_BhwC, q_BhwC);
      });
      return { quantized_BhwC, vqLoss: tf.addN(losses) as tf.Scalar, idx_Bl };
    });
  }

  variables(): tf.Variable[] {
    return [this.embedding_VC];
  }

  stateDictEntries(): StateDictEntry[] {
    return [{ name: 'quantize.embedding.weight', tensor: this.embedding_VC, transform: 'none' }];
  }

  dispose(): void {
    this.embedding_VC.dispose();
  }
}
