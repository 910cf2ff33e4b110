import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, describeValue, InvalidArgumentError } from '@nextdetail/core';
import { bisectClusters, structureBits } from '@nextdetail/tokenizers';
import { guidedLogits } from '../guidance/guidedLogits.js';
import type { NvgNetworks } from './nvgNetworks.js';
import { twice, withUnconditional } from './unconditionalBatch.js';

/**
 * Where NVG's next structure map comes from.
 * - `flow`: the structure generator's rectified flow, as in the paper.
 * - `prediction`: the content generator's own guided prediction of the final canvas x0. Every cluster is split in two
 *   by the tokenizer's greedy equal-size clustering of its members' x0 (bisectClusters), just as training maps
 *   cluster the real latent. It needs no structure network, and on our Fashion-MNIST models it gives more
 *   recognisable classes than their flow (examples/cli/assets/models/MODELS.md).
 */
export type StructureSource = 'flow' | 'prediction';

export const STRUCTURE_SOURCES: readonly StructureSource[] = ['flow', 'prediction'];

/** Checks the structure-source options, naming `sourceName`/`refinementsName` in errors. */
export function checkStructureSource(source: unknown, refinements: unknown, sourceName: string, refinementsName: string): void {
  if (!STRUCTURE_SOURCES.includes(source as StructureSource)) {
    throw new InvalidArgumentError(sourceName, STRUCTURE_SOURCES.map((s) => JSON.stringify(s)).join(' or '), describeValue(source));
  }
  checkNumber(refinements, refinementsName, { integer: true, min: 0 });
}

/**
 * The content generator's x0 float32 [B, P, C] at `stage` for the canvas entering it, under the map `labels_BP`:
 * u + cfg·(c − u) over a doubled batch, or the conditional branch alone when `cfg` is null. The caller owns it.
 */
export async function guidedPrediction(
  networks: NvgNetworks,
  input: { canvas_BPC: tf.Tensor; labels_BP: tf.Tensor; classLabels_B: tf.Tensor; stage: number; cfg: number | null },
): Promise<tf.Tensor> {
  const { canvas_BPC, labels_BP, classLabels_B, stage, cfg } = input;
  const bits_BPW = await structureBits(labels_BP as tf.Tensor2D, stage, networks.config.structureBits);
  const ropeBits = cfg === null ? bits_BPW : twice(bits_BPW);
  try {
    const rope = await networks.contentRope(ropeBits);
    try {
      return tf.tidy(() => {
        if (cfg === null) return networks.content.apply({ canvas_BPC, classLabels_B, stage, rope });
        const classes = withUnconditional(classLabels_B, networks.config.numClasses);
        return guidedLogits(networks.content.apply({ canvas_BPC: twice(canvas_BPC), classLabels_B: classes, stage, rope }), cfg, 'plain');
      });
    } finally {
      tf.dispose([rope.cos_B1TF, rope.sin_B1TF]);
    }
  } finally {
    tf.dispose([bits_BPW, ropeBits]);
  }
}

/**
 * Refines a proposed next map `next_BP` (stage + 1, split from `labels_BP`) `times` times: the content generator
 * predicts x0 at stage + 1 from the canvas after this stage under the proposal, and every stage-`stage` cluster is
 * bisected again by that prediction, so the split agrees with what the next stage will draw. Consumes `next_BP` and
 * returns the final map (the caller owns it).
 */
export async function refineSplit(
  networks: NvgNetworks,
  input: { next_BP: tf.Tensor; labels_BP: tf.Tensor; canvas_BPC: tf.Tensor; classLabels_B: tf.Tensor; stage: number; cfg: number | null },
  times: number,
): Promise<tf.Tensor> {
  const { labels_BP, canvas_BPC, classLabels_B, stage, cfg } = input;
  let next_BP = input.next_BP;
  for (let k = 0; k < times; k++) {
    try {
      const x0_BPC = await guidedPrediction(networks, { canvas_BPC, labels_BP: next_BP, classLabels_B, stage: stage + 1, cfg });
      try {
        const refined = await bisectClusters(labels_BP, x0_BPC, stage);
        next_BP.dispose();
        next_BP = refined;
      } finally {
        x0_BPC.dispose();
      }
    } catch (err) {
      next_BP.dispose();
      throw err;
    }
  }
  return next_BP;
}
