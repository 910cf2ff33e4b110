import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, describeValue, InvalidArgumentError, RandomGenerator, resize, ShapeError } from '@nextdetail/core';
import type { GranularityStep, NvgTokenizer, TokenPlan, Tokenizer } from '@nextdetail/tokenizers';
import type { ScaleGenerator } from '@nextdetail/transformer';
import { nvgGenerate, type NvgGenerateOptions, type NvgStageEvent } from '../nvg/nvgGenerate.js';
import type { NvgNetworks } from '../nvg/nvgNetworks.js';
import { checkStructureGuide, structureFromMap, type StructureGuide } from '../nvg/structureGuidance.js';
import { type ScaleLoopOptions, scaleLoop } from './scaleLoop.js';

/** Images NHWC in the tokenizer's output range and the plan they were decoded from; the caller owns both. */
export type Generation = { images_BHWC: tf.Tensor4D; plan: TokenPlan };

function disposePlan(plan: TokenPlan): void {
  tf.dispose(plan.steps.map((s) => s.idx_Bl));
}

async function decoded(tokenizer: Tokenizer, plan: Promise<TokenPlan>): Promise<Generation> {
  const p = await plan;
  try {
    return { images_BHWC: tokenizer.decode(p), plan: p };
  } catch (err) {
    disposePlan(p);
    throw err;
  }
}

/** The scale loop's plan decoded: from the soft f̂ with `moreSmooth` (VAR's more_smooth), from the ids otherwise. */
async function decodedLoop(tokenizer: Tokenizer, generator: ScaleGenerator, options: ScaleLoopOptions): Promise<Generation> {
  const { plan, fhat_BHWC } = await scaleLoop(tokenizer, generator, options);
  if (!fhat_BHWC) return decoded(tokenizer, Promise.resolve(plan));
  try {
    return { images_BHWC: (tokenizer as Tokenizer & { decodeLatent(f: tf.Tensor4D): tf.Tensor4D }).decodeLatent(fhat_BHWC), plan };
  } catch (err) {
    disposePlan(plan);
    throw err;
  } finally {
    fhat_BHWC.dispose();
  }
}

/**
 * One NVG stage done, shaped like the scale loop's ScaleStepEvent: the plan so far (one granularity step per stage
 * generated, with its cluster tokens and structure map; the loop's, read it during the callback) and its preview.
 */
export interface NvgStepEvent {
  /** 1-based index of the stage just generated. */
  step: number;
  steps: number;
  /** The latent grid [h, w] every stage lies on. */
  size: [number, number];
  plan: TokenPlan;
  /** Decodes the canvas f̂ after this stage (the tokenizer's `preview`); call it during the callback; the caller disposes the image. */
  preview: () => tf.Tensor4D;
}

export type NvgImageOptions = Omit<NvgGenerateOptions, 'rng' | 'structure' | 'progress'> & {
  /** Class of every image; `numClasses` asks for an unconditional sample. */
  labels: readonly number[];
  /**
   * Structure-guided generation (NVG paper §3.2): the first stages' structure maps, as NVG hierarchies
   * (`labels_BSP`) or one region map on any grid (`map`, e.g. a binary circle mask; see structureFromMap).
   */
  structure?: StructureGuide;
  /** Seed of every random choice (or pass `rng`); fully greedy settings need neither. */
  seed?: number;
  rng?: RandomGenerator;
  /** Called after every stage and awaited (a UI can paint); a throw stops generation and propagates. */
  progress?: (event: NvgStepEvent) => void | Promise<void>;
};

/**
 * Class-conditional generation, the same call for every family: VAR, CART and FlexVAR run the next-scale loop with a
 * scale generator; NVG runs its stage loop (content tokens, then the next structure) with its generator networks. The
 * plan is decoded by the tokenizer.
 */
export function generate(tokenizer: NvgTokenizer, generator: NvgNetworks, options: NvgImageOptions): Promise<Generation>;
export function generate(tokenizer: Tokenizer, generator: ScaleGenerator, options: ScaleLoopOptions): Promise<Generation>;
export function generate(
  tokenizer: Tokenizer,
  generator: ScaleGenerator | NvgNetworks,
  options: ScaleLoopOptions | NvgImageOptions,
): Promise<Generation> {
  if (tokenizer.family === 'nvg') return decoded(tokenizer, nvgPlan(tokenizer as NvgTokenizer, generator as NvgNetworks, options as NvgImageOptions));
  return decodedLoop(tokenizer, generator as ScaleGenerator, options as ScaleLoopOptions);
}

async function nvgPlan(tokenizer: NvgTokenizer, networks: NvgNetworks, options: NvgImageOptions): Promise<TokenPlan> {
  const { labels, seed, rng: given, structure, progress, ...loop } = options;
  if (!Array.isArray(labels) || labels.length === 0) {
    throw new InvalidArgumentError('labels', 'a non-empty array of class ids', describeValue(labels));
  }
  labels.forEach((l, i) => checkNumber(l, `labels[${i}]`, { min: 0, max: networks.config.numClasses, integer: true }));
  const size = tokenizer.schedule()[0]!.size;
  if (networks.config.positions !== size[0] * size[1] || networks.config.stages !== tokenizer.stages) {
    throw new InvalidArgumentError(
      'generator',
      `NVG networks for ${tokenizer.stages} stages over ${size[0] * size[1]} positions (the tokenizer's)`,
      `${networks.config.stages} stages over ${networks.config.positions} positions`,
    );
  }
  const rng = given ?? (seed === undefined ? undefined : new RandomGenerator(seed));
  const guide = structure === undefined ? undefined : checkStructureGuide(structure);
  if (guide && 'map' in guide && guide.map?.rank === 3 && ![1, labels.length].includes(guide.map.shape[0]!)) {
    throw new ShapeError('structure.map', `[H, W] or [${labels.length} or 1, H, W]`, describeShape(guide.map.shape));
  }
  const fromMap = guide && 'map' in guide ? await structureFromMap(guide.map, size, guide.stages) : undefined;
  const labels_B = tf.tensor1d(Int32Array.from(labels), 'int32');
  // The structure maps of the stages so far (clones, released at the end) for each event's plan.
  const maps: tf.Tensor[] = [];
  try {
    const labels_BSP = fromMap ?? (guide && 'labels_BSP' in guide ? guide.labels_BSP : undefined);
    const result = await nvgGenerate(networks, tokenizer.quantizer, labels_B, {
      ...loop,
      ...(rng ? { rng } : {}),
      ...(labels_BSP ? { structure: { labels_BSP } } : {}),
      ...(progress ? { progress: (e: NvgStageEvent) => nvgStepEvent(tokenizer, size, maps, e, progress) } : {}),
    });
    try {
      return tokenizer.planFromPositions(result.tokens_BSP as tf.Tensor3D, result.labels_BSP as tf.Tensor3D, size);
    } finally {
      tf.dispose([result.tokens_BSP, result.labels_BSP, result.canvas_BPC, ...result.logits]);
    }
  } finally {
    tf.dispose([labels_B, ...maps]);
    fromMap?.dispose();
  }
}

/**
 * The plan of the stages so far, built as the final plan is (planFromPositions over maps padded with zeros for the
 * stages to come), so that the last stage's preview is the generated image exactly.
 */
async function nvgStepEvent(
  tokenizer: NvgTokenizer,
  size: [number, number],
  maps: tf.Tensor[],
  event: NvgStageEvent,
  progress: (event: NvgStepEvent) => void | Promise<void>,
): Promise<void> {
  const { step, steps, labels_BP, tokens_BSP } = event;
  maps.push(tf.clone(labels_BP));
  const all = tf.tidy(() => {
    const pad_BP = tf.zerosLike(labels_BP);
    const labels_BSP = tf.stack([...maps, ...Array.from({ length: steps - step }, () => pad_BP)], 1) as tf.Tensor3D;
    return tokenizer.planFromPositions(tokens_BSP as tf.Tensor3D, labels_BSP, size).steps;
  });
  tf.dispose(all.slice(step).flatMap((s) => [s.idx_Bl, (s as GranularityStep).labels_Bl]));
  const plan: TokenPlan = { steps: all.slice(0, step) };
  try {
    await progress({ step, steps, size, plan, preview: () => tokenizer.preview(plan) });
  } finally {
    tf.dispose(plan.steps.flatMap((s) => [s.idx_Bl, (s as GranularityStep).labels_Bl]));
  }
}

export type ImageEditOptions = Omit<ScaleLoopOptions, 'edit' | 'prefix' | 'imageSize' | 'schedule'> & {
  /** The images to edit, NHWC in [−1, 1]. */
  images_BHWC: tf.Tensor4D;
  /** float32 [B, h, w] on any grid (the image's, the last scale's): 1 keeps the image, 0 regenerates. */
  keep_BHW: tf.Tensor3D;
  /** Steps with at most this many tokens come wholly from the image (VAR's notebook: 3). */
  forcedTokens?: number;
};

/**
 * In-painting (keep = 0 inside the hole), out-painting (keep = 1 only on the known part) and class-conditional
 * editing (VAR's zero-shot edit, FlexVAR §4.4): the images' own tokens are teacher-forced where the mask keeps, the
 * rest is generated for `labels`.
 */
export async function editImages(tokenizer: Tokenizer, generator: ScaleGenerator, options: ImageEditOptions): Promise<Generation> {
  if (tokenizer.family === 'nvg') {
    throw new InvalidArgumentError('tokenizer', 'a VAR, CART or FlexVAR tokenizer (NVG has no masked editing)', 'an NVG tokenizer');
  }
  const { images_BHWC, keep_BHW, forcedTokens, ...loop } = options;
  checkTensor(images_BHWC, 'images_BHWC', { rank: 4, dtype: 'float32' });
  const reference = await tokenizer.encode(images_BHWC);
  try {
    // The reference's grids at the images' size; the loop gives each step the tokenizer's kind there (CART: base, then detail).
    const schedule = reference.steps.map((s) => s.size);
    const imageSize: [number, number] = [images_BHWC.shape[1], images_BHWC.shape[2]];
    return await decodedLoop(tokenizer, generator, { ...loop, schedule, imageSize, edit: { reference, keep_BHW, forcedTokens } });
  } finally {
    disposePlan(reference);
  }
}

export type RefineOptions = Omit<ScaleLoopOptions, 'edit' | 'prefix' | 'imageSize' | 'schedule'> & {
  images_BHWC: tf.Tensor4D;
  /** The output image size [H, W] (larger than the input: FlexVAR's zero-shot refinement). */
  size: readonly [number, number];
  /** How many coarse steps are taken from the (bicubically enlarged) input; the finer ones are generated. */
  fixedSteps: number;
};

/**
 * FlexVAR §4.4 "refine image at high resolution": the input is enlarged to `size`, its coarse steps are teacher-forced
 * and the model generates the detail of the finer scales at the new resolution.
 */
export async function refineImages(tokenizer: Tokenizer, generator: ScaleGenerator, options: RefineOptions): Promise<Generation> {
  const { images_BHWC, size, fixedSteps, ...loop } = options;
  checkTensor(images_BHWC, 'images_BHWC', { rank: 4, dtype: 'float32' });
  checkNumber(fixedSteps, 'fixedSteps', { min: 1, integer: true });
  const enlarged = tf.tidy(() => tf.clipByValue(resize(images_BHWC, size, 'bicubic'), -1, 1) as tf.Tensor4D);
  const reference = await tokenizer.encode(enlarged).finally(() => enlarged.dispose());
  try {
    if (fixedSteps >= reference.steps.length) {
      throw new InvalidArgumentError('fixedSteps', `fewer than the ${reference.steps.length} steps at ${size.join('×')}`, String(fixedSteps));
    }
    const schedule = reference.steps.map((s) => s.size);
    const prefix = { steps: reference.steps.slice(0, fixedSteps) };
    return await decodedLoop(tokenizer, generator, { ...loop, schedule, prefix });
  } finally {
    disposePlan(reference);
  }
}

export type ExtendOptions = Omit<ImageEditOptions, 'keep_BHW' | 'images_BHWC'> & {
  images_BHWC: tf.Tensor4D;
  /** The output size [H, W], at least the input's on both sides (e.g. another aspect ratio). */
  size: readonly [number, number];
  /** Where the input's top-left corner goes (default: centred). */
  offset?: readonly [number, number];
};

/** FlexVAR §4.4 image expansion: the input is placed on a larger canvas and everything around it is generated. */
export async function extendImages(tokenizer: Tokenizer, generator: ScaleGenerator, options: ExtendOptions): Promise<Generation> {
  const { images_BHWC, size, offset, ...edit } = options;
  checkTensor(images_BHWC, 'images_BHWC', { rank: 4, dtype: 'float32' });
  const [B, h, w] = images_BHWC.shape;
  const [H, W] = size;
  if (!(H >= h && W >= w)) throw new ShapeError('size', `at least the input's ${h}×${w}`, describeShape([...size]));
  const [top, left] = offset ?? [Math.floor((H - h) / 2), Math.floor((W - w) / 2)];
  if (!(top >= 0 && left >= 0 && top + h <= H && left + w <= W)) {
    throw new InvalidArgumentError('offset', `a position that keeps the ${h}×${w} input inside ${H}×${W}`, `${top}, ${left}`);
  }
  const pads: [number, number][] = [[0, 0], [top, H - h - top], [left, W - w - left]];
  const canvas = tf.tidy(() => tf.pad(images_BHWC, [...pads, [0, 0]]) as tf.Tensor4D);
  const keep = tf.tidy(() => tf.pad(tf.ones([B, h, w]), pads) as tf.Tensor3D);
  try {
    return await editImages(tokenizer, generator, { ...edit, images_BHWC: canvas, keep_BHW: keep });
  } finally {
    tf.dispose([canvas, keep]);
  }
}
