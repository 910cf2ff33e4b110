import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, ShapeError } from '@nextdetail/core';
import { lastLayer } from './lastLayer.js';
import { linear } from './linear.js';
import { checkClassLabels } from './nvgContentGenerator.js';
import type { NvgConfig } from './nvgConfig.js';
import { blockParams, linearParams, type NvgParameters, param } from './nvgParameters.js';
import { sequenceTail } from './sequenceTail.js';
import { singleStreamBlock } from './singleStreamBlock.js';
import { checkRotaryTable, type RotaryTable } from './structureAwareRope.js';
import { timestepEmbedding } from './timestepEmbedding.js';

/** Inputs of one structure-velocity evaluation. */
export interface NvgStructureInput {
  /** The flow state float32 [B, P, W] in the centred code space (bits − 1: −1/+1 known, noise elsewhere). */
  z_BPW: tf.Tensor;
  /** The canvas after this stage's tokens, float32 [B, P, C]. */
  canvas_BPC: tf.Tensor;
  /** Class ids int32 [B] in [0, numClasses]; numClasses is the unconditional class. */
  classLabels_B: tf.Tensor;
  /** The stage s < structureStages whose split (code channel s) is being generated. */
  stage: number;
  /** Flow time in [0, 1] (1 = noise), for the whole batch or one per item. */
  t: number | readonly number[];
  /** RoPE of the structure sequence (NvgGenerator.structureRope of the stage's structure code). */
  rope: RotaryTable;
}

/**
 * NVG's structure generator: a smaller FLUX single-stream transformer over [class token, P canvas-condition tokens,
 * P structure tokens] predicting the rectified-flow velocity of the W-channel structure code (v-prediction).
 * A view over parameters owned by NvgGenerator.
 */
// NVG paper §2.2.1 (structure generator) and App. A.4; reference digest §3.3 "Structure path"
export class NvgStructureGenerator {
  constructor(
    readonly config: NvgConfig,
    private readonly params: NvgParameters,
  ) {}

  /** The velocity float32 [B, P, W] at time t. The caller owns the result. */
  apply({ z_BPW, canvas_BPC, classLabels_B, stage, t, rope }: NvgStructureInput): tf.Tensor {
    const c = this.config;
    checkNumber(stage, 'stage', { integer: true, min: 0, max: c.structureStages - 1 });
    checkTensor(z_BPW, 'z_BPW', { rank: 3, dtype: 'float32' });
    checkTensor(canvas_BPC, 'canvas_BPC', { rank: 3, dtype: 'float32' });
    const [b, p, w] = z_BPW.shape as [number, number, number];
    if (b < 1 || p !== c.positions || w !== c.structureBits) {
      throw new ShapeError('z_BPW', `[B ≥ 1, ${c.positions}, ${c.structureBits}] (B, P, W)`, describeShape(z_BPW.shape));
    }
    if (canvas_BPC.shape[0] !== b || canvas_BPC.shape[1] !== p || canvas_BPC.shape[2] !== c.cvae) {
      throw new ShapeError('canvas_BPC', `[${b}, ${p}, ${c.cvae}] (B, P, C)`, describeShape(canvas_BPC.shape));
    }
    checkClassLabels(classLabels_B, b);
    checkRotaryTable(rope, b, 1 + 2 * p);
    const times = typeof t === 'number' ? [t] : [...t];
    if (times.length !== 1 && times.length !== b) {
      throw new ShapeError('t', `one time or ${b} (one per batch item)`, `${times.length} times`);
    }
    const time_NE = new Float32Array(times.length * c.timeEmbedDim);
    times.forEach((ti, i) => time_NE.set(timestepEmbedding(ti, c.timeEmbedDim), i * c.timeEmbedDim));
    return tf.tidy(() => {
      const pr = this.params;
      const hidden = linear(tf.tensor2d(time_NE, [times.length, c.timeEmbedDim]), linearParams(pr, 'structure_time_embed.in_layer'));
      const te_ND = linear(tf.mul(hidden, tf.sigmoid(hidden)), linearParams(pr, 'structure_time_embed.out_layer'));
      const class_BD = tf.gather(param(pr, 'structure_class_embed.weight'), classLabels_B);
      const stage_1D = tf.slice(param(pr, 'structure_stage_embed.weight'), [stage, 0], [1, -1]);
      const vec_BD = tf.add(tf.add(class_BD, te_ND), stage_1D);
      let x_BTD = tf.concat(
        [
          tf.expandDims(class_BD, 1),
          linear(canvas_BPC, linearParams(pr, 'structure_content_cond_embed')),
          linear(z_BPW, linearParams(pr, 'structure_embed')),
        ],
        1,
      );
      for (let i = 0; i < c.structureDepth; i++) {
        x_BTD = singleStreamBlock(x_BTD, vec_BD, rope, blockParams(pr, `structure_blocks.${i}`), c.structureHeads);
      }
      const structure_BPD = sequenceTail(x_BTD, 1 + p);
      const head = { modulation: linearParams(pr, 'structure_head.adaLN_modulation.1'), linear: linearParams(pr, 'structure_head.linear') };
      return lastLayer(structure_BPD, vec_BD, head);
    });
  }
}
