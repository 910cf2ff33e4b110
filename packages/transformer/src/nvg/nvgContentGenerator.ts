import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, ShapeError } from '@nextdetail/core';
import { lastLayer } from './lastLayer.js';
import { linear } from './linear.js';
import type { NvgConfig } from './nvgConfig.js';
import { blockParams, linearParams, type NvgParameters, param } from './nvgParameters.js';
import { sequenceTail } from './sequenceTail.js';
import { singleStreamBlock } from './singleStreamBlock.js';
import { checkRotaryTable, type RotaryTable } from './structureAwareRope.js';

/** Inputs of one content-generator pass at stage `stage`. */
export interface NvgContentInput {
  /** The canvas f̂ accumulated before this stage, float32 [B, P, C] position-major (zeros at stage 0). */
  canvas_BPC: tf.Tensor;
  /** Class ids int32 [B] in [0, numClasses]; numClasses is the unconditional class. */
  classLabels_B: tf.Tensor;
  stage: number;
  /** RoPE of the content sequence at this stage (NvgGenerator.contentRope of the stage's structure code). */
  rope: RotaryTable;
}

/**
 * NVG's content generator: a stack of FLUX single-stream blocks over [class token, P canvas tokens] conditioned on
 * class + stage embeddings, predicting the final canvas x0 (which `clusterLogits` turns into token logits).
 * A view over parameters owned by NvgGenerator.
 */
// NVG paper §2.2.2 (content generator, content prediction); reference digest §3.3 "Content path"
export class NvgContentGenerator {
  constructor(
    readonly config: NvgConfig,
    private readonly params: NvgParameters,
    private readonly scaleFactors: tf.Tensor,
  ) {}

  /**
   * The predicted final canvas x0 float32 [B, P, C]: z = canvas·scale_factors[s] (the learned start embedding at
   * stage 0), x = [class_emb] ++ content_embed(z), blocks, x0_head / scale_factors[S]. The caller owns the result.
   */
  apply({ canvas_BPC, classLabels_B, stage, rope }: NvgContentInput): tf.Tensor {
    const c = this.config;
    checkNumber(stage, 'stage', { integer: true, min: 0, max: c.stages - 1 });
    const batch = this.checkCanvas(canvas_BPC, 'canvas_BPC');
    checkClassLabels(classLabels_B, batch);
    checkRotaryTable(rope, batch, c.positions + 1);
    return tf.tidy(() => {
      const p = this.params;
      const z_BPC =
        stage === 0
          ? tf.tile(param(p, 'content_start_embed'), [batch, 1, 1])
          : tf.mul(canvas_BPC, tf.slice(this.scaleFactors, [stage], [1]));
      const class_BD = tf.gather(param(p, 'content_class_embed.weight'), classLabels_B);
      const vec_BD = tf.add(class_BD, tf.slice(param(p, 'content_stage_embed.weight'), [stage, 0], [1, -1]));
      let x_BTD = tf.concat([tf.expandDims(class_BD, 1), linear(z_BPC, linearParams(p, 'content_embed'))], 1);
      for (let i = 0; i < c.depth; i++) x_BTD = singleStreamBlock(x_BTD, vec_BD, rope, blockParams(p, `content_blocks.${i}`), c.heads);
      const image_BPD = sequenceTail(x_BTD, 1);
      const head = { modulation: linearParams(p, 'x0_head.adaLN_modulation.1'), linear: linearParams(p, 'x0_head.linear') };
      return tf.div(lastLayer(image_BPD, vec_BD, head), tf.slice(this.scaleFactors, [c.stages], [1]));
    });
  }

  /**
   * Token logits float32 [B, 2^s, V] of the stage's clusters: cls_head of the mean of x0 − canvas over each cluster's
   * positions (`labels_BP` int32 [B, P], the stage's structure map). An empty cluster gets the logits of a zero mean.
   */
  // NVG paper §2.2.2 "Content Prediction"; reference digest §3.3 "Content path"
  clusterLogits(x0_BPC: tf.Tensor, canvas_BPC: tf.Tensor, labels_BP: tf.Tensor, stage: number): tf.Tensor {
    checkNumber(stage, 'stage', { integer: true, min: 0, max: this.config.stages - 1 });
    const batch = this.checkCanvas(x0_BPC, 'x0_BPC');
    this.checkCanvas(canvas_BPC, 'canvas_BPC', batch);
    checkLabels(labels_BP, batch, this.config.positions);
    return tf.tidy(() => {
      const mean_BKC = clusterMean(tf.sub(x0_BPC, canvas_BPC), labels_BP, 2 ** stage);
      return linear(mean_BKC, linearParams(this.params, 'cls_head.linear'));
    });
  }

  private checkCanvas(t: tf.Tensor, argument: string, batch?: number): number {
    checkTensor(t, argument, { rank: 3, dtype: 'float32' });
    const [b, p, ch] = t.shape as [number, number, number];
    if (b < 1 || p !== this.config.positions || ch !== this.config.cvae || (batch !== undefined && b !== batch)) {
      const expected = `[${batch ?? 'B ≥ 1'}, ${this.config.positions}, ${this.config.cvae}] (B, P, C)`;
      throw new ShapeError(argument, expected, describeShape(t.shape));
    }
    return b;
  }
}

/** Mean of `x_BPC` over the positions of each label k < K, [B, K, C]; labels outside [0, K) are left out. */
export function clusterMean(x_BPC: tf.Tensor, labels_BP: tf.Tensor, clusters: number): tf.Tensor {
  return tf.tidy(() => {
    const ids_1K1 = tf.reshape(tf.range(0, clusters, 1, 'int32'), [1, clusters, 1]);
    const member_BKP = tf.cast(tf.equal(tf.expandDims(labels_BP, 1), ids_1K1), 'float32');
    return tf.div(tf.matMul(member_BKP, x_BPC), tf.maximum(tf.sum(member_BKP, 2, true), 1));
  });
}

export function checkClassLabels(classLabels_B: tf.Tensor, batch: number): void {
  checkTensor(classLabels_B, 'classLabels_B', { rank: 1, dtype: 'int32' });
  if (classLabels_B.shape[0] !== batch) {
    throw new ShapeError('classLabels_B', `[${batch}] (one class per batch item)`, describeShape(classLabels_B.shape));
  }
}

export function checkLabels(labels_BP: tf.Tensor, batch: number, positions: number): void {
  checkTensor(labels_BP, 'labels_BP', { rank: 2, dtype: 'int32' });
  if (labels_BP.shape[0] !== batch || labels_BP.shape[1] !== positions) {
    throw new ShapeError('labels_BP', `[${batch}, ${positions}] (B, P)`, describeShape(labels_BP.shape));
  }
}
