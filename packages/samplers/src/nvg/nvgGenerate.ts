import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, describeShape, describeValue, InvalidArgumentError, type RandomGenerator, ShapeError } from '@nextdetail/core';
import type { GranularityQuantizer } from '@nextdetail/tokenizers';
import { linspace } from '../guidance/guidanceWeights.js';
import { nvgTopPSchedule } from '../schedules/nvgSchedules.js';
import type { NvgNetworks } from './nvgNetworks.js';
import { nvgStage } from './nvgStage.js';
import { checkStructureSource, type StructureSource } from './predictedStructure.js';
import { checkStructureLabels } from './structureGuidance.js';

export interface NvgGenerateOptions {
  /** Per-stage content CFG scales, or [start, end] for linspace(start, end, S) (default [1, 3.5]). */
  contentCfg?: number[];
  /**
   * Per-stage structure CFG scales, or [start, end] (default [1, 2.5]): of the flow's velocity, or with
   * `structureSource: 'prediction'` of the content generator's x0 that splits the clusters.
   */
  structureCfg?: number[];
  /** Euler steps of the structure flow (default 25). */
  structureSteps?: number;
  /** top-k of the token draws (default 0: off; 1 is greedy). */
  topK?: number;
  /** Per-stage Hugging Face top-p, or [start, end] for nvgTopPSchedule(S, start, end) (default [1, 0.5]). */
  topP?: number[];
  temperature?: number;
  /** Gumbel-top-k splits of the flow's code (default false: deterministic top-k). */
  gumbelSplits?: boolean;
  /**
   * Where each next structure map comes from: 'flow' (default, the structure generator, as in the paper) or
   * 'prediction' (bisecting every cluster by the content generator's guided x0; no structure network needed).
   */
  structureSource?: StructureSource;
  /** Times each predicted map is re-split by the next stage's x0 under it (default 0; see refineSplit). */
  structureRefinements?: number;
  /** ε float32 [B, P, W] of the structure flow; drawn N(0, 1) from `rng` if absent. */
  structureNoise_BPW?: tf.Tensor;
  /** The generator of every random choice (token draws, noise, Gumbel splits); optional only if none is random. */
  rng?: RandomGenerator;
  /**
   * Structure-guided generation (NVG paper §3.2): the structure maps of the first k stages, int32 [B or 1, k, P] in
   * NVG's hierarchy (stage 0 zeros, stage-s labels in [0, 2^s), parent ⌊l/2⌋). Those stages use them instead of
   * predicted splits; from stage k − 1 on the structure generator predicts the next maps as usual, refining them.
   */
  structure?: { labels_BSP: tf.Tensor };
  /** Called after every stage and awaited (a UI can paint); a throw stops the loop and propagates. */
  progress?: (event: NvgStageEvent) => void | Promise<void>;
  /** Checked before every stage: once aborted, the loop rejects with the signal's reason (an AbortError). */
  signal?: AbortSignal;
}

/**
 * One stage of the loop done (the NVG counterpart of the scale loop's ScaleStepEvent). Every tensor is the loop's:
 * read it during the callback, do not dispose or keep it.
 */
export interface NvgStageEvent {
  /** 1-based index of the stage just generated. */
  step: number;
  steps: number;
  /** The structure map this stage generated on, int32 [B, P]. */
  labels_BP: tf.Tensor;
  /** The token of every position at the stages so far, int32 [B, S, P] (later stages 0). */
  tokens_BSP: tf.Tensor;
  /** The canvas f̂ after this stage, float32 [B, P, C] (decoded, a plausible image at every stage). */
  canvas_BPC: tf.Tensor;
}

/** A type alias so that tf.dispose accepts it; the caller owns every tensor. */
export type NvgGeneration = {
  /** The structure map entering every stage, int32 [B, S, P] (stage 0 all zeros). */
  labels_BSP: tf.Tensor;
  /** The token of every position at every stage, int32 [B, S, P] (decode with the quantizer's tokensToFhat). */
  tokens_BSP: tf.Tensor;
  /** The final canvas f̂ float32 [B, P, C] (what the decoder receives). */
  canvas_BPC: tf.Tensor;
  /** Cluster logits of every stage, float32 [B, 2^s, V]. */
  logits: tf.Tensor[];
};

type StageCurve = (start: number, end: number, stages: number) => number[];

function perStage(values: number[] | undefined, fallback: [number, number], stages: number, argument: string, curve: StageCurve = linspace): number[] {
  const v = values ?? fallback;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x)) || (v.length !== 2 && v.length !== stages)) {
    throw new InvalidArgumentError(argument, `[start, end] or ${stages} per-stage numbers`, describeValue(v));
  }
  return v.length === stages ? [...v] : curve(v[0]!, v[1]!, stages);
}

/**
 * NVG's free-running generation: from an empty canvas and a single cluster, every stage generates its tokens (content
 * CFG cfg_c[s]) and, from the new canvas, the next stage's structure (structure CFG cfg_s[s]); the result holds every
 * stage's structure map, tokens and logits and the final canvas. With `structure`, the given stages' maps are fixed
 * and only the later ones are generated (the flow in-paints the unknown bits below the known ones, §2.2.1).
 */
// NVG paper Alg. 2 and App. A.5 (CFG and top-p schedules); reference digest §3.3 "Generation loop", §3.4
export async function nvgGenerate(
  networks: NvgNetworks,
  quantizer: GranularityQuantizer,
  classLabels_B: tf.Tensor,
  options: NvgGenerateOptions = {},
): Promise<NvgGeneration> {
  const c = networks.config;
  checkTensor(classLabels_B, 'classLabels_B', { rank: 1, dtype: 'int32' });
  const batch = classLabels_B.shape[0];
  const contentCfg = perStage(options.contentCfg, [1, 3.5], c.stages, 'contentCfg');
  const structureCfg = perStage(options.structureCfg, [1, 2.5], c.stages, 'structureCfg');
  const topP = perStage(options.topP, [1, 0.5], c.stages, 'topP', (start, end, n) => nvgTopPSchedule(n, start, end));
  const { structureSteps = 25, topK = 0, temperature = 1, gumbelSplits = false, rng } = options;
  if (gumbelSplits && !rng) throw new InvalidArgumentError('rng', 'a RandomGenerator (gumbelSplits is random)', 'undefined');
  const { structureSource = 'flow', structureRefinements = 0 } = options;
  checkStructureSource(structureSource, structureRefinements, 'structureSource', 'structureRefinements');
  if (gumbelSplits && structureSource === 'prediction') {
    throw new InvalidArgumentError('gumbelSplits', "false with structureSource 'prediction' (its splits are deterministic)", 'true');
  }
  const given =
    options.structure === undefined
      ? []
      : await checkStructureLabels(options.structure?.labels_BSP, batch, c.stages, c.positions);
  let noise_BPW: tf.Tensor;
  if (options.structureNoise_BPW !== undefined) {
    const n = options.structureNoise_BPW;
    try {
      checkTensor(n, 'structureNoise_BPW', { rank: 3, dtype: 'float32' });
      if (n.shape[0] !== batch || n.shape[1] !== c.positions || n.shape[2] !== c.structureBits) {
        throw new ShapeError('structureNoise_BPW', `[${batch}, ${c.positions}, ${c.structureBits}] (B, P, W)`, describeShape(n.shape));
      }
    } catch (err) {
      tf.dispose(given);
      throw err;
    }
    noise_BPW = tf.clone(n);
  } else {
    if (!rng) {
      tf.dispose(given);
      throw new InvalidArgumentError('rng', 'a RandomGenerator (the structure noise is drawn from it)', 'undefined');
    }
    noise_BPW = rng.normal([batch, c.positions, c.structureBits]);
  }
  let tokens_BSP = tf.zeros([batch, c.stages, c.positions], 'int32');
  let labels_BP: tf.Tensor = given[0] ?? tf.zeros([batch, c.positions], 'int32');
  const labelMaps: tf.Tensor[] = [];
  const logits: tf.Tensor[] = [];
  let canvas_BPC: tf.Tensor | null = null;
  try {
    for (let s = 0; s < c.stages; s++) {
      options.signal?.throwIfAborted();
      labelMaps.push(labels_BP);
      const result = await nvgStage(
        networks,
        quantizer,
        { tokens_BSP, labels_BP, classLabels_B, stage: s, structureNoise_BPW: noise_BPW },
        {
          contentCfg: contentCfg[s]!,
          structureCfg: structureCfg[s]!,
          structureSteps,
          topK,
          topP: topP[s]!,
          temperature,
          ...(rng ? { rng } : {}),
          ...(gumbelSplits && rng ? { gumbel: rng } : {}),
          predictStructure: s + 1 >= given.length,
          structureSource,
          structureRefinements,
        },
      );
      logits.push(result.logits_BKV);
      result.tokens_BP.dispose();
      tokens_BSP.dispose();
      tokens_BSP = result.tokens_BSP;
      canvas_BPC?.dispose();
      canvas_BPC = result.canvas_BPC;
      if (result.nextLabels_BP) labels_BP = result.nextLabels_BP;
      else if (given[s + 1]) labels_BP = given[s + 1]!;
      await options.progress?.({ step: s + 1, steps: c.stages, labels_BP: labelMaps[s]!, tokens_BSP, canvas_BPC });
    }
    const labels_BSP = tf.stack(labelMaps, 1);
    tf.dispose(labelMaps);
    return { labels_BSP, tokens_BSP, canvas_BPC: canvas_BPC!, logits };
  } catch (err) {
    tf.dispose([tokens_BSP, ...labelMaps, ...logits]);
    if (!labelMaps.includes(labels_BP)) labels_BP.dispose();
    tf.dispose(given.filter((g) => !labelMaps.includes(g) && g !== labels_BP));
    canvas_BPC?.dispose();
    throw err;
  } finally {
    noise_BPW.dispose();
  }
}
