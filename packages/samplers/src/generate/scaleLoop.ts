import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, describeValue, InvalidArgumentError, RandomGenerator, resize, ShapeError } from '@nextdetail/core';
import type { GridStep, StepKind, StepSpec, TokenPlan, Tokenizer } from '@nextdetail/tokenizers';
import type { ScaleGenerator } from '@nextdetail/transformer';
import { flexVarGuidance, varGuidance } from '../guidance/guidanceWeights.js';
import { guidedLogits } from '../guidance/guidedLogits.js';
import { moreSmoothWeights } from '../sampling/gumbelSoftmax.js';
import { sampleTokens } from '../sampling/sampleTokens.js';
import { maskTopKTopP } from '../sampling/varTopKTopP.js';

/**
 * How classifier-free guidance is weighted per step: `var` — VAR's ramp cfg·si/(SN − 1); `flexvar` — FlexVAR's ramp
 * (denominator capped at 9, full cfg beyond `maxPn`); `plain` — uncond + cfg·(cond − uncond) at every step (LlamaGen,
 * FlexVAR's `used_llamagen_cfg`).
 */
export type GuidanceRule = 'var' | 'flexvar' | 'plain';

/** The side lengths FlexVAR's released models saw in training; other scales are sampled greedily (digest §2.4). */
export const FLEXVAR_SEEN_SCALES: readonly number[] = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 23, 24, 32];

export interface ScaleStepEvent {
  /** 1-based index of the step just generated. */
  step: number;
  steps: number;
  size: [number, number];
  /** The plan so far (owned by the loop: read it during the callback, do not dispose it). */
  plan: TokenPlan;
  /** Bytes held by the KV cache after this step. */
  cacheBytes: number;
  /** Decodes the plan so far (the tokenizer's `preview`); call it during the callback; the caller disposes the image. */
  preview: () => tf.Tensor4D;
}

/**
 * VAR's zero-shot editing (demo_zero_shot_edit.ipynb, digest §1.9) and FlexVAR's in/out-painting (paper §4.4): the
 * tokens of `reference` (the image's own plan on the same schedule) are teacher-forced where `keep_BHW` is 1, and
 * generated where it is 0. The mask lies on any grid (e.g. the last scale's or the image's); each step resizes it
 * bilinearly (half-pixel, PyTorch's align_corners=False) to its grid and keeps positions above 0.5. Steps of at most
 * `forcedTokens` tokens (VAR: pn² ≤ 3) come wholly from the reference.
 */
export interface MaskedEdit {
  reference: TokenPlan;
  /** float32 [B, h, w], 1 = keep the reference. */
  keep_BHW: tf.Tensor3D;
  forcedTokens?: number;
}

export interface ScaleLoopOptions {
  /** Class of every image; `numClasses` asks for an unconditional sample. */
  labels: readonly number[];
  /** Seed of the sampling generator (or pass `rng`). Greedy sampling (topK = 1) needs neither. */
  seed?: number;
  rng?: RandomGenerator;
  /** Guidance strength; 0 (default) runs without the unconditional half of the batch. */
  cfg?: number;
  guidance?: GuidanceRule;
  /** FlexVAR: scales above this get full guidance and greedy sampling (default 16). */
  maxPn?: number;
  topK?: number;
  topP?: number;
  temperature?: number;
  /**
   * Scales at which `topK` applies; at any other scale sampling is greedy, as FlexVAR does for sizes it never trained
   * on. Default: FLEXVAR_SEEN_SCALES for the FlexVAR family, every scale otherwise.
   */
  seenScales?: readonly number[] | 'all';
  /**
   * The steps' grids; default the tokenizer's schedule for `imageSize`. Each step takes its kind from that schedule
   * when the grids are its grids, else from `edit.reference`; a CART tokenizer (base, then detail steps) takes no other
   * grids.
   */
  schedule?: readonly (readonly [number, number])[];
  imageSize?: readonly [number, number];
  /**
   * Generate only the schedule's first n steps (default all); guidance still ramps over the whole schedule, as it
   * would in a complete run (CART's high-resolution mode generates the base steps alone).
   */
  steps?: number;
  /**
   * VAR's `more_smooth` (VAR and CART; digest §1.6, §1.9): the ids are still sampled, but each step adds to f̂ the
   * Gumbel-softmax mixture of codes over the masked logits, sharpened by 1 + r at temperature
   * max(0.27·(1 − 0.95·r), 0.005) with r = si/(S − 1) (moreSmoothWeights), and the next inputs and the images follow
   * that f̂. Teacher-forced ids (prefix, kept edit tokens) enter as their own codes. The logits are divided by
   * `temperature` first (VAR has none: 1 is VAR's). Needs a seed or rng.
   */
  moreSmooth?: boolean;
  /** Steps already fixed (teacher forcing): they are fed, not sampled. Not disposed by the loop. */
  prefix?: TokenPlan;
  /** Masked editing: where `keep` says so, every step takes the reference's tokens instead of sampled ones. */
  edit?: MaskedEdit;
  progress?: (event: ScaleStepEvent) => void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * The next-scale loop shared by VAR, CART and FlexVAR (VAR models/var.py autoregressive_infer_cfg; FlexVAR
 * models/flexvar.py autoregressive_infer_cfg, digest §1.6 and §2.4): one KV-cached transformer step per scale, guided
 * logits, top-k/top-p sampling, and the tokenizer's next-scale input. Returns the token plan (the caller's to dispose).
 * With `moreSmooth` the ids are sampled as usual but the inputs follow the soft f̂, which this plan does not hold:
 * `generate` decodes that f̂.
 */
export async function generateScalePlan(
  tokenizer: Tokenizer,
  generator: ScaleGenerator,
  options: ScaleLoopOptions,
): Promise<TokenPlan> {
  const { plan, fhat_BHWC } = await scaleLoop(tokenizer, generator, options);
  fhat_BHWC?.dispose();
  return plan;
}

/** What VAR's more_smooth needs from a tokenizer: @nextdetail/tokenizers' LatentStepTokenizer (VAR and CART). */
type LatentSteps = Tokenizer & {
  stepTerm(step: number, weights_BlV: tf.Tensor3D): tf.Tensor4D;
  inputFromLatent(step: number, fhat_BHWC: tf.Tensor4D): tf.Tensor3D;
  decodeLatent(fhat_BHWC: tf.Tensor4D): tf.Tensor4D;
};

function latentSteps(tokenizer: Tokenizer): LatentSteps {
  const t = tokenizer as Partial<LatentSteps>;
  if (typeof t.stepTerm !== 'function' || typeof t.inputFromLatent !== 'function' || typeof t.decodeLatent !== 'function') {
    throw new InvalidArgumentError('moreSmooth', 'a VAR or CART tokenizer (its steps add to a running latent f̂)', `a ${tokenizer.family} tokenizer`);
  }
  return tokenizer as LatentSteps;
}

/**
 * generateScalePlan's loop; with `moreSmooth` it also returns the soft f̂ [B, H, W, C] the images decode from (null
 * otherwise). The caller owns both.
 */
export async function scaleLoop(
  tokenizer: Tokenizer,
  generator: ScaleGenerator,
  options: ScaleLoopOptions,
): Promise<{ plan: TokenPlan; fhat_BHWC: tf.Tensor4D | null }> {
  const { labels, cfg = 0, maxPn = 16, topK = 0, topP = 0, temperature = 1, prefix, progress, signal } = options;
  if (tokenizer.family === 'nvg') {
    throw new InvalidArgumentError('tokenizer', 'a VAR, CART or FlexVAR tokenizer (NVG has its own loop)', 'an NVG tokenizer');
  }
  const guidance = options.guidance ?? (tokenizer.family === 'flexvar' ? 'flexvar' : 'var');
  if (!['var', 'flexvar', 'plain'].includes(guidance)) {
    throw new InvalidArgumentError('guidance', '"var", "flexvar" or "plain"', describeValue(guidance));
  }
  checkNumber(cfg, 'cfg', { min: 0 });
  const { numClasses, vocabSize } = generator.config;
  if (!Array.isArray(labels) || labels.length === 0) {
    throw new InvalidArgumentError('labels', 'a non-empty array of class ids', describeValue(labels));
  }
  labels.forEach((l, i) => checkNumber(l, `labels[${i}]`, { min: 0, max: numClasses, integer: true }));
  if (tokenizer.vocabSize !== vocabSize) {
    throw new InvalidArgumentError('generator', `a generator over the tokenizer's ${tokenizer.vocabSize} codes`, `${vocabSize} codes`);
  }
  const specs = tokenizer.schedule(options.imageSize);
  const sizes = (options.schedule ?? specs.map((s) => s.size)).map(([h, w]) => [h, w] as [number, number]);
  const fixed = prefix?.steps ?? [];
  if (fixed.length > sizes.length || fixed.some((s, i) => s.size[0] !== sizes[i]![0] || s.size[1] !== sizes[i]![1])) {
    throw new InvalidArgumentError('prefix', `steps on the schedule's first grids`, describeValue(fixed.map((s) => s.size.join('×'))));
  }
  const edit = options.edit;
  if (edit) checkEdit(edit, sizes, labels.length);
  const kinds = stepKinds(specs, sizes, edit?.reference);
  const seen = options.seenScales ?? (tokenizer.family === 'flexvar' ? FLEXVAR_SEEN_SCALES : 'all');
  const rng = options.rng ?? (options.seed === undefined ? undefined : new RandomGenerator(options.seed));
  const B = labels.length;
  const S = sizes.length;
  const count = options.steps ?? S;
  checkNumber(count, 'steps', { integer: true, min: 1, max: S });
  const smooth = options.moreSmooth === true ? latentSteps(tokenizer) : null;
  if (smooth && !rng) throw new InvalidArgumentError('rng', 'a seed or a RandomGenerator (moreSmooth draws Gumbel noise)', 'neither');
  const guided = cfg > 0;
  const rows = guided ? [...labels, ...labels.map(() => numClasses)] : [...labels];

  const weight = (si: number, [h, w]: [number, number]): number =>
    guidance === 'plain' ? cfg : guidance === 'var' ? varGuidance(cfg, si, S) : flexVarGuidance(cfg, si, S, Math.max(h, w), maxPn);
  const stepTopK = ([h, w]: [number, number]): number =>
    Math.max(h, w) > maxPn && guidance === 'flexvar'
      ? 1
      : seen === 'all' || (seen.includes(h) && seen.includes(w))
        ? topK
        : 1;

  const plan: TokenPlan = { steps: [] };
  let fhat_BHWC: tf.Tensor4D | null = null;
  const cache = generator.createCacheFor(rows, sizes);
  try {
    for (let si = 0; si < count; si++) {
      signal?.throwIfAborted();
      const size = sizes[si]!;
      const x_BlCv =
        si === 0
          ? null
          : tf.tidy(() => {
              const x = smooth ? smooth.inputFromLatent(si, fhat_BHWC!) : tokenizer.nextInput(plan, size);
              return guided ? tf.concat([x, x], 0) : x;
            });
      const logits_BlV = generator.step(cache, x_BlCv);
      x_BlCv?.dispose();
      const given = fixed[si];
      const l = size[0] * size[1];
      const forced = given ? given.idx_Bl : edit && l <= (edit.forcedTokens ?? 3) ? edit.reference.steps[si]!.idx_Bl : null;
      const owned: tf.Tensor[] = [logits_BlV];
      try {
        let flat_NV: tf.Tensor2D | null = null;
        let keep_Bl: tf.Tensor2D | null = null;
        let idx_Bl: tf.Tensor2D;
        if (forced) {
          idx_Bl = forced.clone() as tf.Tensor2D;
        } else {
          flat_NV = tf.tidy(() => {
            const mixed = guided ? guidedLogits(logits_BlV, weight(si, size), guidance === 'plain' ? 'plain' : 'ramp') : logits_BlV;
            return tf.reshape(mixed, [B * l, vocabSize]) as tf.Tensor2D;
          });
          owned.push(flat_NV);
          if (edit) {
            keep_Bl = tf.tidy(() => tf.reshape(tf.greater(resize(tf.expandDims(edit.keep_BHW, 3), size, 'bilinear'), 0.5), [B, l]) as tf.Tensor2D);
            owned.push(keep_Bl);
          }
          const [flat, keep] = [flat_NV, keep_Bl];
          idx_Bl = tf.tidy(() => {
            const sampled_Bl = tf.reshape(sampleTokens(flat, { topK: stepTopK(size), topP, temperature, rng }), [B, l]) as tf.Tensor2D;
            return keep ? (tf.where(keep, edit!.reference.steps[si]!.idx_Bl, sampled_Bl) as tf.Tensor2D) : sampled_Bl;
          });
        }
        plan.steps.push({ kind: kinds[si] as GridStep['kind'], size, idx_Bl });
        if (smooth) {
          const weights_BlV = tf.tidy(() => {
            const hard_BlV = tf.cast(tf.oneHot(idx_Bl, vocabSize), 'float32') as tf.Tensor3D;
            if (!flat_NV) return hard_BlV;
            // VAR's more_smooth (digest §1.6): Gumbel-softmax over the logits as top-k/top-p masked them for the draw;
            // kept edit positions enter with their own (the reference's) code, as VAR's masked variant does.
            const masked_NV = tf.div(maskTopKTopP(flat_NV, { topK: stepTopK(size), topP }), temperature) as tf.Tensor2D;
            const soft_BlV = tf.reshape(moreSmoothWeights(masked_NV, S > 1 ? si / (S - 1) : 0, rng!), [B, l, vocabSize]);
            return (keep_Bl ? tf.where(tf.expandDims(keep_Bl, 2), hard_BlV, soft_BlV) : soft_BlV) as tf.Tensor3D;
          });
          owned.push(weights_BlV);
          const previous: tf.Tensor4D | null = fhat_BHWC;
          fhat_BHWC = tf.tidy(() => {
            const term_BHWC = smooth.stepTerm(si, weights_BlV);
            // Accumulated from zeros, as the tokenizer accumulates a plan's f̂, so one-hot weights reproduce it exactly.
            return tf.add(previous ?? tf.zerosLike(term_BHWC), term_BHWC) as tf.Tensor4D;
          });
          previous?.dispose();
        }
      } finally {
        tf.dispose(owned);
      }
      const current = fhat_BHWC;
      await progress?.({
        step: si + 1,
        steps: count,
        size,
        plan,
        cacheBytes: cache.byteLength,
        preview: () => (smooth && current ? smooth.decodeLatent(current) : tokenizer.preview(plan)),
      });
    }
  } catch (err) {
    tf.dispose(plan.steps.map((s) => s.idx_Bl));
    fhat_BHWC?.dispose();
    throw err;
  } finally {
    cache.dispose();
  }
  return { plan, fhat_BHWC };
}

/**
 * The kind of every step of `sizes`: the tokenizer's schedule's where the grids are its grids (CART's base steps, then
 * its detail steps), the edit reference's where it lies on them, else the one kind of a tokenizer whose steps all
 * share it (VAR's and FlexVAR's scale steps).
 */
function stepKinds(specs: readonly StepSpec[], sizes: readonly (readonly [number, number])[], reference?: TokenPlan): StepKind[] {
  const on = (grids: readonly (readonly [number, number])[]) =>
    grids.length === sizes.length && grids.every(([h, w], i) => h === sizes[i]![0] && w === sizes[i]![1]);
  if (on(specs.map((s) => s.size))) return specs.map((s) => s.kind);
  const steps = reference?.steps;
  if (steps && on(steps.map((s) => s.size))) return steps.map((s) => s.kind);
  const kinds = [...new Set(specs.map((s) => s.kind))];
  if (kinds.length !== 1) {
    throw new InvalidArgumentError(
      'schedule',
      `the tokenizer's grids ${specs.map((s) => s.size.join('×')).join(', ')} (its steps are of kinds ${kinds.join(', ')})`,
      sizes.map((z) => z.join('×')).join(', '),
    );
  }
  return sizes.map(() => kinds[0]!);
}

function checkEdit(edit: MaskedEdit, sizes: readonly (readonly [number, number])[], B: number): void {
  checkTensor(edit.keep_BHW, 'edit.keep_BHW', { rank: 3, dtype: 'float32' });
  if (edit.keep_BHW.shape[0] !== B) {
    throw new ShapeError('edit.keep_BHW', `[${B}, h, w] (one mask per image)`, describeShape(edit.keep_BHW.shape));
  }
  const steps = edit.reference?.steps ?? [];
  const fits = steps.length === sizes.length && steps.every((s, i) => s.size[0] === sizes[i]![0] && s.size[1] === sizes[i]![1]);
  if (!fits || steps.some((s) => s.idx_Bl.shape[0] !== B)) {
    throw new InvalidArgumentError(
      'edit.reference',
      `a plan of ${B} images on the schedule ${sizes.map((z) => z.join('×')).join(', ')}`,
      steps.map((s) => `${s.idx_Bl.shape[0]}×${s.size.join('×')}`).join(', ') || 'no steps',
    );
  }
}
