import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, InvalidArgumentError, type RandomGenerator, ShapeError } from '@nextdetail/core';
import { bisectClusters, type GranularityQuantizer, structureBits } from '@nextdetail/tokenizers';
import { guidedLogits } from '../guidance/guidedLogits.js';
import { sampleTokens } from '../sampling/sampleTokens.js';
import type { NvgNetworks } from './nvgNetworks.js';
import { checkStructureSource, guidedPrediction, refineSplit, type StructureSource } from './predictedStructure.js';
import { splitClusters } from './structureSplit.js';
import { sampleStructureCode } from './structureFlow.js';
import { twice, withUnconditional } from './unconditionalBatch.js';

export interface NvgStageInput {
  /** Tokens of every position at every stage, int32 [B, S, P]; only stages before `stage` are read. */
  tokens_BSP: tf.Tensor;
  /** The stage's structure map int32 [B, P] (labels in [0, 2^stage), each cluster split evenly from its parent). */
  labels_BP: tf.Tensor;
  classLabels_B: tf.Tensor;
  stage: number;
  /** ε float32 [B, P, W] of the structure flow, the same at every stage. */
  structureNoise_BPW: tf.Tensor;
}

export interface NvgStageOptions {
  /** Keep the k most likely tokens (0: all); 1 is greedy and needs no generator. */
  topK?: number;
  /** Hugging Face (descending) top-p of the draws (0: off). */
  topP?: number;
  temperature?: number;
  /** The generator of the token draws; required unless topK = 1. */
  rng?: RandomGenerator;
  /** CFG scale of the content logits (null: conditional only). */
  contentCfg: number | null;
  /**
   * CFG scale of the structure: of the flow's velocity, or with `structureSource: 'prediction'` of the x0 that splits
   * the clusters and refines the split (null: conditional only).
   */
  structureCfg: number | null;
  /** Euler steps of the structure flow. */
  structureSteps: number;
  /** Gumbel-top-k splits of the flow's code (with this generator) instead of deterministic top-k. */
  gumbel?: RandomGenerator;
  /** Where the next map comes from: the structure flow (default) or the content generator's x0 (StructureSource). */
  structureSource?: StructureSource;
  /**
   * Times the next map is re-split by the content generator's x0 at the next stage under it (refineSplit), after the
   * source proposes it (default 0).
   */
  structureRefinements?: number;
  /** false: the caller gives the next structure map (structure guidance), so no split is predicted (default true). */
  predictStructure?: boolean;
}

/** A type alias so that tf.dispose accepts it; the caller owns every tensor. */
export type NvgStageResult = {
  /** Cluster logits float32 [B, 2^stage, V] (CFG-combined when guided). */
  logits_BKV: tf.Tensor;
  /** The chosen token of every position int32 [B, P] (its cluster's token). */
  tokens_BP: tf.Tensor;
  /** `tokens_BSP` with this stage's row filled in. */
  tokens_BSP: tf.Tensor;
  /** The canvas after this stage, float32 [B, P, C]. */
  canvas_BPC: tf.Tensor;
  /** The next stage's structure map int32 [B, P], or null after the last stage. */
  nextLabels_BP: tf.Tensor | null;
};

/** Σ_{t<upTo} Phi_t(E[tokens_t]) position-major [B, P, C] (the canvas entering stage `upTo`), by the quantizer. */
function canvasBefore(quantizer: GranularityQuantizer, tokens_BSP: tf.Tensor, upTo: number): tf.Tensor {
  return tf.tidy(() => {
    const [b, s, p] = tokens_BSP.shape as [number, number, number];
    const c = quantizer.cvae;
    if (upTo === s) return tf.reshape(quantizer.tokensToFhat(tokens_BSP as tf.Tensor3D), [b, p, c]);
    const input = quantizer.trainingInput(tokens_BSP as tf.Tensor3D, tf.zerosLike(tokens_BSP) as tf.Tensor3D);
    return tf.reshape(tf.slice(input, [0, upTo, 0, 0], [-1, 1, -1, c]), [b, p, c]);
  });
}

/**
 * One NVG stage: the content generator predicts the final canvas, its mean residual per cluster gives token logits
 * (guided u + cfg·(c − u)), a token is chosen per cluster and added to the canvas through the quantizer's Phi_s; then,
 * below the last structure stage, the structure flow generates the code whose channel `stage` splits every cluster
 * in two for the next stage (at the stage after the structure generator's last, ε's channel scores the split). With
 * `structureSource: 'prediction'` the content generator's x0, guided by the structure scale, bisects the clusters
 * instead; `structureRefinements` then re-splits either proposal by the next stage's x0.
 */
// NVG paper §2.2 and Alg. 2; reference digest §3.3 "Content path", "Structure path", "Split", "Generation loop"
export async function nvgStage(
  networks: NvgNetworks,
  quantizer: GranularityQuantizer,
  input: NvgStageInput,
  options: NvgStageOptions,
): Promise<NvgStageResult> {
  const c = networks.config;
  const { tokens_BSP, labels_BP, classLabels_B, stage, structureNoise_BPW } = input;
  checkNumber(stage, 'stage', { integer: true, min: 0, max: c.stages - 1 });
  checkTensor(tokens_BSP, 'tokens_BSP', { rank: 3, dtype: 'int32' });
  const batch = tokens_BSP.shape[0];
  if (batch < 1 || tokens_BSP.shape[1] !== c.stages || tokens_BSP.shape[2] !== c.positions) {
    throw new ShapeError('tokens_BSP', `[B ≥ 1, ${c.stages}, ${c.positions}] (B, S, P)`, describeShape(tokens_BSP.shape));
  }
  checkTensor(structureNoise_BPW, 'structureNoise_BPW', { rank: 3, dtype: 'float32' });
  if (structureNoise_BPW.shape[0] !== batch || structureNoise_BPW.shape[1] !== c.positions || structureNoise_BPW.shape[2] !== c.structureBits) {
    throw new ShapeError('structureNoise_BPW', `[${batch}, ${c.positions}, ${c.structureBits}] (B, P, W)`, describeShape(structureNoise_BPW.shape));
  }
  if (options.contentCfg !== null) checkNumber(options.contentCfg, 'contentCfg');
  if (options.structureCfg !== null) checkNumber(options.structureCfg, 'structureCfg');
  const { structureSource = 'flow', structureRefinements = 0 } = options;
  checkStructureSource(structureSource, structureRefinements, 'structureSource', 'structureRefinements');
  if (structureSource === 'prediction' && options.gumbel !== undefined) {
    throw new InvalidArgumentError('gumbel', "undefined with structureSource 'prediction' (its splits are deterministic)", 'a RandomGenerator');
  }
  const splits = options.predictStructure !== false && stage < c.stages - 1;
  const clusters = 2 ** stage;
  const bits_BPW = await structureBits(labels_BP as tf.Tensor2D, stage, c.structureBits);
  const owned: tf.Tensor[] = [bits_BPW];
  try {
    const canvasIn_BPC = canvasBefore(quantizer, tokens_BSP, stage);
    owned.push(canvasIn_BPC);
    const guided = options.contentCfg !== null;
    const ropeBits = guided ? twice(bits_BPW) : bits_BPW;
    if (guided) owned.push(ropeBits);
    const rope = await networks.contentRope(ropeBits);
    owned.push(rope.cos_B1TF, rope.sin_B1TF);
    // The x0 that splits the clusters comes from the same pass, guided by the structure scale, wherever the pass has
    // the branches that scale needs.
    const structureCfg = options.structureCfg;
    const predicts = splits && structureSource === 'prediction';
    const [logits_BKV, passX0_BPC] = tf.tidy(() => {
      const canvas = guided ? twice(canvasIn_BPC) : canvasIn_BPC;
      const labels = guided ? twice(labels_BP) : labels_BP;
      const classes = guided ? withUnconditional(classLabels_B, c.numClasses) : classLabels_B;
      const x0 = networks.content.apply({ canvas_BPC: canvas, classLabels_B: classes, stage, rope });
      const logits = networks.content.clusterLogits(x0, canvas, labels, stage);
      const guidedOut = guided ? guidedLogits(logits, options.contentCfg!, 'plain') : logits;
      if (!predicts || (!guided && structureCfg !== null)) return [guidedOut];
      if (!guided) return [guidedOut, x0];
      return [guidedOut, structureCfg === null ? tf.slice(x0, 0, batch) : guidedLogits(x0, structureCfg, 'plain')];
    }) as [tf.Tensor, tf.Tensor?];
    const x0_BPC = predicts
      ? (passX0_BPC ?? (await guidedPrediction(networks, { canvas_BPC: canvasIn_BPC, labels_BP, classLabels_B, stage, cfg: structureCfg })))
      : undefined;
    if (x0_BPC) owned.push(x0_BPC);
    const vocab = logits_BKV.shape[2]!;
    const flat = tf.reshape(logits_BKV, [batch * clusters, vocab]);
    owned.push(flat);
    const { topK = 0, topP = 0, temperature = 1, rng } = options;
    const clusterTokens_N = sampleTokens(flat as tf.Tensor2D, { topK, topP, topPRule: 'descending', temperature, ...(rng ? { rng } : {}) });
    owned.push(clusterTokens_N);
    const [tokens_BP, nextTokens_BSP] = tf.tidy(() => {
      const offset_B1 = tf.reshape(tf.range(0, batch * clusters, clusters, 'int32'), [batch, 1]);
      const tokens = tf.gather(clusterTokens_N, tf.add(labels_BP, offset_B1));
      const isStage_1S1 = tf.reshape(tf.oneHot(tf.tensor1d([stage], 'int32'), c.stages), [1, c.stages, 1]);
      const filled = tf.add(tf.mul(tokens_BSP, tf.sub(1, isStage_1S1)), tf.mul(tf.expandDims(tokens, 1), isStage_1S1));
      return [tokens, tf.cast(filled, 'int32')];
    });
    const result: NvgStageResult = {
      logits_BKV,
      tokens_BP,
      tokens_BSP: nextTokens_BSP,
      canvas_BPC: canvasBefore(quantizer, nextTokens_BSP, stage + 1),
      nextLabels_BP: null,
    };
    try {
      if (!splits) return result;
      let next_BP: tf.Tensor;
      if (x0_BPC) {
        next_BP = await bisectClusters(labels_BP, x0_BPC, stage);
      } else if (stage < c.structureStages) {
        const z_BPW = await sampleStructureCode(networks, {
          canvas_BPC: result.canvas_BPC,
          bits_BPW,
          classLabels_B,
          stage,
          noise_BPW: structureNoise_BPW,
          steps: options.structureSteps,
          cfgScale: options.structureCfg,
        });
        owned.push(z_BPW);
        next_BP = await splitByChannel(labels_BP, z_BPW, stage, options.gumbel, owned);
      } else {
        next_BP = await splitByChannel(labels_BP, structureNoise_BPW, stage, options.gumbel, owned);
      }
      result.nextLabels_BP = await refineSplit(
        networks,
        { next_BP, labels_BP, canvas_BPC: result.canvas_BPC, classLabels_B, stage, cfg: structureCfg },
        structureRefinements,
      );
      return result;
    } catch (err) {
      tf.dispose([logits_BKV, tokens_BP, nextTokens_BSP, result.canvas_BPC]);
      throw err;
    }
  } finally {
    tf.dispose(owned);
  }
}

/** splitClusters by channel `stage` of a [B, P, W] code. */
async function splitByChannel(labels_BP: tf.Tensor, code_BPW: tf.Tensor, stage: number, gumbel: RandomGenerator | undefined, owned: tf.Tensor[]) {
  const scores_BP = tf.tidy(() => tf.squeeze(tf.slice(code_BPW, [0, 0, stage], [-1, -1, 1]), [2]));
  owned.push(scores_BP);
  return splitClusters(labels_BP, scores_BP, stage, gumbel ? { gumbel } : {});
}
