import type * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, describeValue, InvalidArgumentError, ShapeError } from '@nextdetail/core';

/** Which family's step: VAR/FlexVAR scales, CART base and detail maps, NVG granularity stages. */
export type StepKind = 'scale' | 'base' | 'detail' | 'granularity';

/** A step before its ids exist: what a sampler generates, one entry of a tokenizer's `schedule`. */
export type StepSpec = {
  kind: StepKind;
  /** The step's grid [h, w]: its token map, or for a granularity step the latent grid its structure map covers. */
  size: [number, number];
  /** How many ids the step has: h·w for a grid step, the cluster count for a granularity step. */
  tokens: number;
};

/** A step whose ids are a row-major token map over `size` (VAR and FlexVAR scales, CART base and detail maps). */
export type GridStep = {
  kind: 'scale' | 'base' | 'detail';
  size: [number, number];
  /** int32 [B, h·w], row-major. */
  idx_Bl: tf.Tensor2D;
};

/**
 * An NVG stage (NVG paper §3.1): one id per cluster, and the structure map saying which cluster every position of the
 * latent grid belongs to. Stage s has 2^s clusters; a position's token is `idx_Bl[b, labels_Bl[b, p]]`.
 */
export type GranularityStep = {
  kind: 'granularity';
  /** The latent grid [h, w] the structure map covers. */
  size: [number, number];
  /** int32 [B, clusters]: the token of every cluster (a cluster no position belongs to has an unused id). */
  idx_Bl: tf.Tensor2D;
  /** The cluster count 2^s. */
  clusters: number;
  /** The structure map, int32 [B, h·w] row-major: each position's cluster in [0, clusters). */
  labels_Bl: tf.Tensor2D;
};

/** One generation step of a token plan: the ids the transformer predicts at that step and where they lie. */
export type TokenStep = GridStep | GranularityStep;

/** Everything a tokenizer turns images into, in generation order. A type alias so `tf.dispose(plan)` accepts it. */
export type TokenPlan = { steps: TokenStep[] };

/** The families behind the Tokenizer interface. */
export type TokenizerFamily = 'var' | 'cart' | 'flexvar' | 'nvg';

/**
 * The seam between image tokenizers and the transformer (shared/docs/architecture.md): the transformer and the
 * samplers see only token plans, schedules and transformer inputs, whatever the quantizer family. Images are NHWC in
 * [−1, 1]. Every returned tensor is the caller's to dispose; the inputs are left alone.
 *
 * Transformer inputs are [B, l, C] with C = `latentChannels`, rows in the step's order: row-major positions of the
 * step's grid (for a granularity step, of the latent grid).
 */
export interface Tokenizer {
  readonly family: TokenizerFamily;
  /** V: ids lie in [0, V). */
  readonly vocabSize: number;
  /** C: the channels of the latent, the codebook and the transformer inputs. */
  readonly latentChannels: number;
  /** Image sides are this multiple of the latent's. */
  readonly downsampleFactor: number;
  /** The image size [H, W] the tokenizer's default schedule is for. */
  readonly imageSize: [number, number];
  /** The steps `encode` produces for images of `imageSize` (default: the native one): what a sampler generates. */
  schedule(imageSize?: readonly [number, number]): StepSpec[];
  /** Images → token plan. */
  encode(images_BHWC: tf.Tensor4D): Promise<TokenPlan>;
  /** Token plan → images (what the reference's decoder returns, clamped where the reference clamps). */
  decode(plan: TokenPlan): tf.Tensor4D;
  /**
   * The images of a plan so far (any non-empty prefix of the schedule), for showing generation as it happens: VAR and
   * CART decode the f̂ accumulated so far, FlexVAR the last scale, NVG the canvas after the stages so far.
   */
  preview(plan: TokenPlan): tf.Tensor4D;
  /**
   * The transformer's teacher-forcing input: the `nextInput` of every step after the first, concatenated along
   * the sequence axis, [B, Σ_{k ≥ 1} l_k, C].
   */
  teacherForcing(plan: TokenPlan): tf.Tensor3D;
  /**
   * Inference: the transformer's input [B, l, C] for the step after the ones in `plan` (the steps generated so far,
   * at least one), whose grid is `nextSize`.
   */
  nextInput(plan: TokenPlan, nextSize: readonly [number, number]): tf.Tensor3D;
  dispose(): void;
}

/**
 * A tokenizer whose transformer inputs come from a running latent f̂ = Σ_k term_k, accumulated step by step from zeros
 * (VAR and CART). Sampling can then add a mixture of codebook rows at a step instead of one code, as VAR's
 * `more_smooth` does (models/var.py autoregressive_infer_cfg): one-hot weights reproduce the plan's own f̂, inputs and
 * images exactly.
 */
export interface LatentStepTokenizer extends Tokenizer {
  /** Step `step`'s term of f̂, [B, H, W, C], for code weights [B, l, V] on its grid (weights @ codebook, then Phi). */
  stepTerm(step: number, weights_BlV: tf.Tensor3D): tf.Tensor4D;
  /** The transformer's input [B, l, C] of step `step` ≥ 1 from the f̂ [B, H, W, C] of the steps before it. */
  inputFromLatent(step: number, fhat_BHWC: tf.Tensor4D): tf.Tensor3D;
  /** The images of an f̂ [B, H, W, C] (what `decode` does to a plan's f̂). */
  decodeLatent(fhat_BHWC: tf.Tensor4D): tf.Tensor4D;
}

/** Checks stepTerm's arguments: a step of the schedule and float32 weights [B ≥ 1, l, V] on its grid. */
export function checkStepWeights(step: number, weights_BlV: tf.Tensor3D, schedule: readonly StepSpec[], vocabSize: number): StepSpec {
  checkNumber(step, 'step', { integer: true, min: 0, max: schedule.length - 1 });
  const spec = schedule[step]!;
  checkTensor(weights_BlV, 'weights_BlV', { rank: 3, dtype: 'float32' });
  const [b, l, v] = weights_BlV.shape;
  if (b < 1 || l !== spec.tokens || v !== vocabSize) {
    throw new ShapeError('weights_BlV', `[B ≥ 1, ${spec.tokens}, ${vocabSize}] (step ${step}'s ${spec.size.join('×')} grid, V codes)`, describeShape(weights_BlV.shape));
  }
  return spec;
}

/** Checks inputFromLatent's and decodeLatent's f̂: float32 [B ≥ 1, h, w, C] on the latent grid. */
export function checkLatent(fhat_BHWC: tf.Tensor4D, [h, w]: readonly [number, number], channels: number): void {
  checkTensor(fhat_BHWC, 'fhat_BHWC', { rank: 4, dtype: 'float32' });
  const [b, fh, fw, c] = fhat_BHWC.shape;
  if (b < 1 || fh !== h || fw !== w || c !== channels) {
    throw new ShapeError('fhat_BHWC', `[B ≥ 1, ${h}, ${w}, ${channels}] (the latent)`, describeShape(fhat_BHWC.shape));
  }
}

/**
 * The form every tokenizer checks before reading a plan: a non-empty `steps` array (at most `maxSteps`) whose ids are
 * int32 [B, n] with one batch size B ≥ 1. Returns the steps and B.
 */
export function checkPlanForm(
  plan: unknown,
  argument: string,
  { minSteps = 1, maxSteps = Infinity }: { minSteps?: number; maxSteps?: number } = {},
): { steps: TokenStep[]; batch: number } {
  const steps: unknown = (plan as TokenPlan | null | undefined)?.steps;
  if (!Array.isArray(steps) || steps.length < minSteps || steps.length > maxSteps) {
    const count = maxSteps === Infinity ? `at least ${minSteps}` : minSteps === maxSteps ? `${minSteps}` : `${minSteps} to ${maxSteps}`;
    const actual = Array.isArray(steps) ? `${steps.length} steps` : describeValue(plan);
    throw new InvalidArgumentError(`${argument}.steps`, `an array of ${count} token steps`, actual);
  }
  let batch = 0;
  steps.forEach((step: unknown, i) => {
    if (step === null || typeof step !== 'object') {
      throw new InvalidArgumentError(`${argument}.steps[${i}]`, 'a token step { kind, size, idx_Bl }', describeValue(step));
    }
    const idx = (step as TokenStep).idx_Bl;
    checkTensor(idx, `${argument}.steps[${i}].idx_Bl`, { rank: 2, dtype: 'int32' });
    if (i === 0) batch = idx.shape[0];
    if (idx.shape[0] !== batch || batch < 1) {
      const expected = `[${batch < 1 ? 'B ≥ 1' : batch}, n] (one batch size for every step)`;
      throw new ShapeError(`${argument}.steps[${i}].idx_Bl`, expected, describeShape(idx.shape));
    }
  });
  return { steps: steps as TokenStep[], batch };
}

/**
 * Checks that a plan's steps are a prefix of `schedule` (kind and grid of each step, h·w ids for a grid step) and
 * returns how many steps it holds.
 */
export function checkPlanAgainstSchedule(steps: readonly TokenStep[], schedule: readonly StepSpec[], argument: string): number {
  steps.forEach((step, i) => {
    const spec = schedule[i];
    const size: unknown = step.size;
    const sameGrid = Array.isArray(size) && spec !== undefined && size[0] === spec.size[0] && size[1] === spec.size[1];
    if (spec === undefined || step.kind !== spec.kind || !sameGrid) {
      const expected =
        spec === undefined ? `at most ${schedule.length} steps` : `a ${spec.kind} step of ${spec.size.join('×')} (step ${i} of the schedule)`;
      throw new InvalidArgumentError(`${argument}.steps[${i}]`, expected, describeStepForm(step));
    }
    if (spec.kind !== 'granularity' && step.idx_Bl.shape[1] !== spec.tokens) {
      const expected = `[${step.idx_Bl.shape[0]}, ${spec.tokens}] (${spec.size.join('×')} tokens)`;
      throw new ShapeError(`${argument}.steps[${i}].idx_Bl`, expected, describeShape(step.idx_Bl.shape));
    }
  });
  return steps.length;
}

/** A size argument as an [h, w] pair of positive integers. */
export function checkSize(size: unknown, argument: string): [number, number] {
  if (!Array.isArray(size) || size.length !== 2 || !size.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new InvalidArgumentError(argument, 'an [h, w] pair of positive integers', describeValue(size));
  }
  return [size[0] as number, size[1] as number];
}

/** Tokenizers whose schedule is fixed to one latent: the size asked for must be theirs. */
export function checkNativeSize(size: unknown, native: readonly [number, number], argument: string): void {
  const [h, w] = checkSize(size, argument);
  if (h !== native[0] || w !== native[1]) {
    throw new InvalidArgumentError(argument, `${native.join('×')} (the schedule's latent times the downsampling factor)`, `${h}×${w}`);
  }
}

/** An image batch float32 [B ≥ 1, H, W, 3] of the given [H, W]. */
export function checkImageSize(images_BHWC: tf.Tensor4D, [h, w]: readonly [number, number]): void {
  checkTensor(images_BHWC, 'images_BHWC', { rank: 4, dtype: 'float32' });
  const [b, ih, iw, c] = images_BHWC.shape;
  if (b < 1 || ih !== h || iw !== w || c !== 3) {
    throw new ShapeError('images_BHWC', `[B ≥ 1, ${h}, ${w}, 3] (NHWC RGB at the schedule's image size)`, describeShape(images_BHWC.shape));
  }
}

/** An image batch float32 [B ≥ 1, H, W, 3] with H and W positive multiples of the downsampling factor. */
export function checkImages(images_BHWC: tf.Tensor4D, factor: number): void {
  checkTensor(images_BHWC, 'images_BHWC', { rank: 4, dtype: 'float32' });
  const [b, h, w, c] = images_BHWC.shape;
  if (b < 1 || h < 1 || w < 1 || h % factor !== 0 || w % factor !== 0 || c !== 3) {
    const expected = `[B ≥ 1, H, W, 3] (NHWC RGB) with H and W positive multiples of the downsampling factor ${factor}`;
    throw new ShapeError('images_BHWC', expected, describeShape(images_BHWC.shape));
  }
}

export function describeStepForm(step: unknown): string {
  if (step === null || typeof step !== 'object') return describeValue(step);
  const { kind, size } = step as Record<string, unknown>;
  const at = Array.isArray(size) ? size.join('×') : describeValue(size);
  return `a ${describeValue(kind)} step of ${at}`;
}
