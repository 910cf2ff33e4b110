import * as tf from '@tensorflow/tfjs-core';
import { AdamW, checkNumber, checkTensor, describeShape, InvalidArgumentError, type RandomGenerator, ShapeError } from '@nextdetail/core';
import { clusterMean } from './nvgContentGenerator.js';
import type { NvgGenerator } from './nvgGenerator.js';
import type { RotaryTable } from './structureAwareRope.js';

/** One teacher-forced content batch at stage `stage`. */
export interface NvgContentBatch {
  /** The canvas before the stage float32 [B, P, C] (the quantizer's trainingInput). */
  canvas_BPC: tf.Tensor;
  /** The stage's structure map int32 [B, P]. */
  labels_BP: tf.Tensor;
  classLabels_B: tf.Tensor;
  stage: number;
  /** generator.contentRope of the stage's structure code. */
  rope: RotaryTable;
  /** The final canvas f̂ float32 [B, P, C] the content generator learns to predict. */
  target_BPC: tf.Tensor;
  /** The stage's token of every cluster int32 [B, 2^stage] (see clusterTokens). */
  clusterTokens_BK: tf.Tensor;
}

/** One structure-flow batch: the code of the next stages given the canvas after stage `stage`. */
export interface NvgStructureBatch {
  /** The canvas after the stage's tokens float32 [B, P, C]. */
  canvas_BPC: tf.Tensor;
  /** The stage's structure code int32 [B, P, W] (known channels < stage). */
  bits_BPW: tf.Tensor;
  /** The full code int32 [B, P, W] (the last stage's structure map), the flow's data end. */
  targetBits_BPW: tf.Tensor;
  classLabels_B: tf.Tensor;
  stage: number;
  /** ε float32 [B, P, W] and the flow time of every item. */
  noise_BPW: tf.Tensor;
  t: readonly number[];
  /** generator.structureRope of `bits_BPW`. */
  rope: RotaryTable;
}

/** Losses of a content batch (scalars; the caller owns them). A type alias so that tf.dispose accepts it. */
export type NvgContentLosses = { loss: tf.Scalar; mse: tf.Scalar; ce: tf.Scalar };

/**
 * The content generator's loss: MSE(x0, final canvas) + cross-entropy of the cluster logits against the clusters'
 * tokens (mean over clusters and items), with uniform weights.
 */
// NVG paper §2.2.2 Eq. 3 ("MSE loss to supervise the final canvas and cross-entropy loss for the content");
// reference digest §3.3 "Training"
export function nvgContentLoss(generator: NvgGenerator, batch: NvgContentBatch): NvgContentLosses {
  const { canvas_BPC, labels_BP, classLabels_B, stage, rope, target_BPC, clusterTokens_BK } = batch;
  checkTensor(target_BPC, 'target_BPC', { rank: 3, dtype: 'float32' });
  if (target_BPC.shape.some((d, i) => d !== canvas_BPC.shape[i])) {
    throw new ShapeError('target_BPC', `the shape of canvas_BPC, ${describeShape(canvas_BPC.shape)}`, describeShape(target_BPC.shape));
  }
  checkTensor(clusterTokens_BK, 'clusterTokens_BK', { rank: 2, dtype: 'int32' });
  if (clusterTokens_BK.shape[0] !== canvas_BPC.shape[0] || clusterTokens_BK.shape[1] !== 2 ** stage) {
    throw new ShapeError('clusterTokens_BK', `[${canvas_BPC.shape[0]}, ${2 ** stage}] (B, 2^stage)`, describeShape(clusterTokens_BK.shape));
  }
  return tf.tidy(() => {
    const x0_BPC = generator.content.apply({ canvas_BPC, classLabels_B, stage, rope });
    const logits_BKV = generator.content.clusterLogits(x0_BPC, canvas_BPC, labels_BP, stage);
    const mse = tf.mean(tf.squaredDifference(x0_BPC, target_BPC)) as tf.Scalar;
    const onehot_BKV = tf.oneHot(clusterTokens_BK, logits_BKV.shape[2]!);
    // logits − logsumexp rather than tf.logSoftmax, whose gradient leaks a tensor on the WASM backend.
    const logProbs_BKV = tf.sub(logits_BKV, tf.logSumExp(logits_BKV, -1, true));
    const ce = tf.neg(tf.mean(tf.sum(tf.mul(onehot_BKV, logProbs_BKV), -1))) as tf.Scalar;
    return { loss: tf.add(mse, ce) as tf.Scalar, mse, ce };
  });
}

/**
 * The structure generator's rectified-flow loss: z_t = t·ε + (1 − t)·sv on the unknown channels (sv = full code − 1,
 * the known channels < stage held at sv), and the MSE between the predicted velocity and ε − sv over the unknown
 * channels (the Euler sampler integrates dz = v·dt from t = 1 to 0). Returns a scalar; the caller owns it.
 */
// NVG paper §2.2.1 Eq. 1 (noised code with known parts kept) and "v-prediction"; reference digest §3.3 "Training"
export function nvgStructureLoss(generator: NvgGenerator, batch: NvgStructureBatch): tf.Scalar {
  const { canvas_BPC, bits_BPW, targetBits_BPW, classLabels_B, stage, noise_BPW, t, rope } = batch;
  const c = generator.config;
  checkNumber(stage, 'stage', { integer: true, min: 0, max: c.structureStages - 1 });
  for (const [x, argument] of [[bits_BPW, 'bits_BPW'], [targetBits_BPW, 'targetBits_BPW']] as const) {
    checkTensor(x, argument, { rank: 3, dtype: 'int32' });
  }
  checkTensor(noise_BPW, 'noise_BPW', { rank: 3, dtype: 'float32' });
  for (const [x, argument] of [[targetBits_BPW, 'targetBits_BPW'], [noise_BPW, 'noise_BPW']] as const) {
    if (x.shape.some((d, i) => d !== bits_BPW.shape[i])) {
      throw new ShapeError(argument, `the shape of bits_BPW, ${describeShape(bits_BPW.shape)}`, describeShape(x.shape));
    }
  }
  if (t.length !== bits_BPW.shape[0]) throw new ShapeError('t', `${bits_BPW.shape[0]} times (one per item)`, `${t.length}`);
  t.forEach((ti, i) => checkNumber(ti, `t[${i}]`, { min: 0, max: 1 }));
  return tf.tidy(() => {
    const width = c.structureBits;
    const unknown_W = tf.tensor1d(Array.from({ length: width }, (_, w) => (w < stage ? 0 : 1)), 'float32');
    const sv_BPW = tf.sub(tf.cast(targetBits_BPW, 'float32'), 1);
    const t_B11 = tf.tensor3d(Float32Array.from(t), [t.length, 1, 1]);
    const noised = tf.add(tf.mul(noise_BPW, t_B11), tf.mul(sv_BPW, tf.sub(1, t_B11)));
    const z_BPW = tf.add(tf.mul(noised, unknown_W), tf.mul(sv_BPW, tf.sub(1, unknown_W)));
    const v_BPW = generator.structure.apply({ z_BPW, canvas_BPC, classLabels_B, stage, t, rope });
    const error = tf.mul(tf.squaredDifference(v_BPW, tf.sub(noise_BPW, sv_BPW)), unknown_W);
    const count = bits_BPW.shape[0]! * bits_BPW.shape[1]! * (width - stage);
    return tf.div(tf.sum(error), count) as tf.Scalar;
  });
}

/**
 * The token of every cluster int32 [B, K] from per-position tokens `tokens_BP` and the structure map `labels_BP`
 * (int32 [B, P]; every position of a cluster carries the cluster's token). The caller owns the result.
 */
export function clusterTokens(tokens_BP: tf.Tensor, labels_BP: tf.Tensor, clusters: number): tf.Tensor {
  checkTensor(tokens_BP, 'tokens_BP', { rank: 2, dtype: 'int32' });
  checkTensor(labels_BP, 'labels_BP', { rank: 2, dtype: 'int32' });
  return tf.tidy(() => {
    // The mean of equal small integers is exact in float32.
    const mean_BK1 = clusterMean(tf.expandDims(tf.cast(tokens_BP, 'float32'), 2), labels_BP, clusters);
    return tf.cast(tf.round(tf.squeeze(mean_BK1, [2])), 'int32');
  });
}

/** Flow times t = sigmoid(n), n ~ N(0, 1) (logit-normal), one per item. */
// Reference digest §3.3 "Training" (t = sigmoid(N(0,1)))
export async function logitNormalTimes(rng: RandomGenerator, count: number): Promise<number[]> {
  checkNumber(count, 'count', { integer: true, min: 1 });
  const n = rng.normal([count]);
  const values = await n.data();
  n.dispose();
  return Array.from(values, (x) => Math.fround(1 / (1 + Math.exp(-x))));
}

/**
 * AdamW without weight decay (betas 0.9, 0.95) over every trainable parameter of an NvgGenerator: one step per call
 * of contentStep or structureStep. `optimizer` holds the moments and the step count, for saving and resuming a run.
 * `dispose()` frees the optimizer's moments.
 */
export class NvgTrainer {
  readonly optimizer: AdamW;
  private rate: number;

  constructor(
    private readonly generator: NvgGenerator,
    { learningRate = 1e-4, beta1 = 0.9, beta2 = 0.95 }: { learningRate?: number; beta1?: number; beta2?: number } = {},
  ) {
    checkNumber(learningRate, 'learningRate', { min: 0, exclusiveMin: true });
    checkNumber(beta1, 'beta1', { min: 0, max: 1 });
    checkNumber(beta2, 'beta2', { min: 0, max: 1 });
    this.rate = learningRate;
    this.optimizer = new AdamW(generator.trainableVariables(), { betas: [beta1, beta2] });
  }

  /**
   * The learning rate of the next updates. Set it before each training step to follow a schedule (the reference warms
   * up and decays it; see learningRateAt).
   */
  get learningRate(): number {
    return this.rate;
  }

  set learningRate(value: number) {
    checkNumber(value, 'learningRate', { min: 0 });
    this.rate = value;
  }

  /**
   * One AdamW step on nvgContentLoss, or on the mean losses of several batches (the reference trains every stage of an
   * image in one step, with uniform weights); returns the losses before the step.
   */
  async contentStep(batch: NvgContentBatch | readonly NvgContentBatch[]): Promise<{ loss: number; mse: number; ce: number }> {
    const batches = nonEmpty(batch);
    let parts: tf.Scalar[] = [];
    const loss = this.update(() => {
      const all = batches.map((b) => nvgContentLoss(this.generator, b));
      const mean = (key: keyof NvgContentLosses) => tf.div(tf.addN(all.map((l) => l[key])), all.length) as tf.Scalar;
      parts = [tf.keep(mean('mse')), tf.keep(mean('ce'))];
      return mean('loss');
    });
    const [total, mse, ce] = await Promise.all([loss, ...parts].map(async (s) => (await s.data())[0]!));
    tf.dispose([loss, ...parts]);
    return { loss: total!, mse: mse!, ce: ce! };
  }

  /**
   * One AdamW step on nvgStructureLoss, or on the mean loss of several batches (the reference trains every stage of
   * an image in one step, with uniform weights); returns the loss before the step.
   */
  async structureStep(batch: NvgStructureBatch | readonly NvgStructureBatch[]): Promise<number> {
    const batches = nonEmpty(batch);
    const loss = this.update(() => tf.div(tf.addN(batches.map((b) => nvgStructureLoss(this.generator, b))), batches.length) as tf.Scalar);
    const value = (await loss.data())[0]!;
    loss.dispose();
    return value;
  }

  dispose(): void {
    this.optimizer.dispose();
  }

  /** One AdamW step on `loss()`; returns the loss before the step (the caller disposes it). */
  private update(loss: () => tf.Scalar): tf.Scalar {
    const { value, grads } = tf.variableGrads(loss, [...this.generator.trainableVariables().values()]);
    this.optimizer.apply(this.optimizer.parameterGrads(grads), this.rate);
    tf.dispose(grads);
    return value;
  }
}

/** A batch as a one-element array; an array of batches as it is, unless empty. */
function nonEmpty<T extends object>(batch: T | readonly T[]): readonly T[] {
  const batches = Array.isArray(batch) ? (batch as readonly T[]) : [batch as T];
  if (batches.length === 0) throw new InvalidArgumentError('batch', 'a batch or a non-empty array of them', 'an empty array');
  return batches;
}
