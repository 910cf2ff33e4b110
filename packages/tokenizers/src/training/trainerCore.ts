import * as tf from '@tensorflow/tfjs-core';
import {
  AdamW,
  checkNumber,
  clipGradientNorm,
  describeValue,
  type GeneratorState,
  globalGradientNorm,
  InvalidArgumentError,
  RandomGenerator,
} from '@nextdetail/core';
import { type CodebookInit, initCodebookFromLatents } from './codebookInit.js';
import { CodebookUsage } from './codebookUsage.js';
import { detach } from './detach.js';
import { hingeDiscriminatorLoss, hingeGeneratorLoss, reconstructionLoss, type ReconstructionWeights } from './losses.js';
import { PatchDiscriminator } from './patchDiscriminator.js';

/** A perceptual distance between two image batches [B, H, W, 3] in [−1, 1], e.g. LPIPS; differentiable in `b`. */
export type PerceptualLoss = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Scalar;

/** The tokenizer trainers' AdamW (core's, with the default decay rule: weights of rank ≥ 2 only). */
export interface AdamWConfig {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay, applied to weights of rank ≥ 2 only (no decay on biases and norm scales). Default 0. */
  weightDecay?: number;
  /** Rescale the gradients so that their global L2 norm is at most this (VAR clips at 2.0). Default: no clipping. */
  clipGradNorm?: number;
}

/** Names a list of variables by position, the key under which an AdamW keeps their moments. */
function byPosition<T>(list: readonly T[]): Map<string, T> {
  return new Map(list.map((t, i) => [String(i), t]));
}

/** What every tokenizer trainer shares: the optimizer, the loss terms and their weights. */
export interface TrainingOptions {
  /** Seeds the trainer's own draws (initialisation, scale sampling, the discriminator). */
  seed: number;
  /**
   * 'uniform' (default): the reference's U(−1/V, 1/V) codebook. 'latents': on the first step, the codes are drawn from
   * that batch's encoder latents (data-dependent init), which lets small runs learn in far fewer steps.
   */
  codebookInit?: CodebookInit;
  /** AdamW for the autoencoder and quantizer. Default lr 1e-4, betas (0.9, 0.95), weight decay 0. */
  optimizer?: Partial<AdamWConfig>;
  /** Pixel loss weights. Default { l1: 0, l2: 1 }. */
  reconstruction?: ReconstructionWeights;
  /** An optional perceptual term weight·network(x, x̂) (LlamaGen and VAR's tokenizers use LPIPS with weight 1). */
  perceptual?: { network: PerceptualLoss; weight?: number };
  /**
   * An optional PatchGAN with the hinge loss: the generator term weight·(−mean D(x̂)) from step `startStep` on, the
   * discriminator trained on (x, x̂.detach) with its own AdamW. Default weight 0.1, start 0, lr as the generator's.
   */
  discriminator?: { weight?: number; startStep?: number; learningRate?: number; channels?: number; layers?: number };
}

/** A TrainerCore's resumable state (see TrainerCore.state). */
export interface TrainerCoreState {
  step: number;
  optimizerSteps: number;
  discriminatorSteps: number;
  codebookInitialised: boolean;
  rng: GeneratorState;
  usageHits: number[];
  /** Variables and optimizer moments by position: `param.i`, `optimizer.m.i`, `optimizer.v.i`, `discriminator.…`. */
  tensors: Record<string, tf.Tensor>;
}

/** One image pair the loss compares: a target and its reconstruction, both [B, H, W, 3] in [−1, 1]. */
export interface ReconstructionPair {
  target_BHWC: tf.Tensor4D;
  recon_BHWC: tf.Tensor4D;
}

/** What a family's forward pass hands the shared step: reconstructions, its VQ loss and the ids it chose. */
export type FamilyForward = {
  pairs: ReconstructionPair[];
  vqLoss: tf.Scalar;
  ids: tf.Tensor[];
};

/** Loss terms of one step (plain numbers), the code usage of its ids, and the gradient norm before clipping. */
export interface StepReport {
  step: number;
  loss: {
    total: number;
    reconstruction: number;
    vq: number;
    perceptual?: number;
    generator?: number;
    discriminator?: number;
  };
  gradNorm: number;
  usage: { hits: Float64Array; perplexity: number; deadCodes: number };
}

/**
 * The training step shared by the four tokenizer families: runs a family's forward pass under tf.variableGrads,
 * adds the reconstruction, perceptual and adversarial terms to its VQ loss, steps AdamW, then the discriminator,
 * and tallies the codebook usage.
 */
export class TrainerCore {
  private generator: RandomGenerator;
  readonly optimizer: AdamW;
  readonly usage: CodebookUsage;
  private readonly discriminator: PatchDiscriminator | null;
  private readonly discriminatorOptimizer: AdamW | null;
  private readonly learningRate: number;
  private readonly discriminatorLearningRate: number;
  private readonly clipGradNorm: number | undefined;
  private steps = 0;
  private codebookInitialised = false;

  constructor(
    private readonly variables: tf.Variable[],
    vocabSize: number,
    private readonly options: TrainingOptions,
    rng: RandomGenerator,
  ) {
    this.generator = rng;
    const { learningRate = 1e-4, beta1 = 0.9, beta2 = 0.95, epsilon = 1e-8, weightDecay = 0, clipGradNorm } = options.optimizer ?? {};
    checkNumber(learningRate, 'options.optimizer.learningRate', { min: 0 });
    if (clipGradNorm !== undefined) checkNumber(clipGradNorm, 'options.optimizer.clipGradNorm', { min: 0 });
    this.learningRate = learningRate;
    this.clipGradNorm = clipGradNorm;
    const betas = [beta1, beta2] as const;
    this.optimizer = new AdamW(byPosition(variables), { betas, eps: epsilon, weightDecay });
    this.usage = new CodebookUsage(vocabSize);
    const d = options.discriminator;
    if (options.codebookInit !== undefined && options.codebookInit !== 'uniform' && options.codebookInit !== 'latents') {
      throw new InvalidArgumentError('options.codebookInit', "'uniform' or 'latents'", describeValue(options.codebookInit));
    }
    if (d) {
      if (d.weight !== undefined) checkNumber(d.weight, 'options.discriminator.weight', { min: 0 });
      if (d.startStep !== undefined) checkNumber(d.startStep, 'options.discriminator.startStep', { integer: true, min: 0 });
      this.discriminator = PatchDiscriminator.create(rng.fork(1), { channels: d.channels, layers: d.layers });
      if (d.learningRate !== undefined) checkNumber(d.learningRate, 'options.discriminator.learningRate', { min: 0 });
      this.discriminatorOptimizer = new AdamW(byPosition(this.discriminator.variables()), { betas, eps: epsilon });
    } else {
      this.discriminator = null;
      this.discriminatorOptimizer = null;
    }
    this.discriminatorLearningRate = d?.learningRate ?? learningRate;
  }

  get stepCount(): number {
    return this.steps;
  }

  /** The trainer's own draws (scale sampling, codebook init); replaced on restore. */
  get rng(): RandomGenerator {
    return this.generator;
  }

  /**
   * Everything a later `restore` needs to continue exactly: the step and generator state, the codebook-init flag, the
   * usage tally, and (by reference, not copies) the trained variables, the AdamW moments and the discriminator.
   */
  state(): TrainerCoreState {
    const tensors: Record<string, tf.Tensor> = {};
    const add = (prefix: string, list: readonly tf.Tensor[]) => list.forEach((t, i) => (tensors[`${prefix}${i}`] = t));
    add('param.', this.variables);
    add('optimizer.m.', [...this.optimizer.moments('exp_avg').values()]);
    add('optimizer.v.', [...this.optimizer.moments('exp_avg_sq').values()]);
    if (this.discriminator && this.discriminatorOptimizer) {
      add('discriminator.param.', this.discriminator.variables());
      add('discriminator.optimizer.m.', [...this.discriminatorOptimizer.moments('exp_avg').values()]);
      add('discriminator.optimizer.v.', [...this.discriminatorOptimizer.moments('exp_avg_sq').values()]);
    }
    return {
      step: this.steps,
      optimizerSteps: this.optimizer.stepCount,
      discriminatorSteps: this.discriminatorOptimizer?.stepCount ?? 0,
      codebookInitialised: this.codebookInitialised,
      rng: this.generator.state(),
      usageHits: Array.from(this.usage.hits),
      tensors,
    };
  }

  /** Tensor names `state()` writes for this trainer, with the shapes they must have. */
  stateShapes(): Map<string, readonly number[]> {
    return new Map(Object.entries(this.state().tensors).map(([name, t]) => [name, t.shape]));
  }

  /** Continues from a `state()` (tensors already checked against `stateShapes()`; the caller keeps them). */
  restore(state: TrainerCoreState): void {
    const rng = new RandomGenerator(state.rng);
    const t = (name: string) => state.tensors[name]!;
    this.variables.forEach((p, i) => p.assign(t(`param.${i}`)));
    const count = this.variables.length;
    const moments = (prefix: string, n: number) => byPosition(Array.from({ length: n }, (_, i) => t(`${prefix}${i}`)));
    this.optimizer.restore(moments('optimizer.m.', count), moments('optimizer.v.', count), state.optimizerSteps);
    if (this.discriminator && this.discriminatorOptimizer) {
      const dVars = this.discriminator.variables();
      dVars.forEach((p, i) => p.assign(t(`discriminator.param.${i}`)));
      this.discriminatorOptimizer.restore(
        moments('discriminator.optimizer.m.', dVars.length),
        moments('discriminator.optimizer.v.', dVars.length),
        state.discriminatorSteps,
      );
    }
    this.steps = state.step;
    this.codebookInitialised = state.codebookInitialised;
    this.generator = rng;
    this.usage.hits.set(state.usageHits);
  }

  /**
   * Before the first step with `codebookInit: 'latents'`: draws the codes from the rows of `latents()` ([N, C], the
   * batch's encoder outputs as the quantizer sees them), once.
   */
  async initCodebook(embedding_VC: tf.Variable, latents: () => tf.Tensor2D): Promise<void> {
    if (this.options.codebookInit !== 'latents' || this.codebookInitialised) return;
    this.codebookInitialised = true;
    const latents_NC = tf.tidy(latents);
    try {
      await initCodebookFromLatents(embedding_VC, latents_NC, this.rng.fork(2));
    } finally {
      latents_NC.dispose();
    }
  }

  async step(forward: () => FamilyForward): Promise<StepReport> {
    const adversarial = this.discriminator !== null && this.steps >= (this.options.discriminator?.startStep ?? 0);
    const kept: { ids: tf.Tensor[]; terms: Record<string, tf.Scalar>; fakes: tf.Tensor4D[]; reals: tf.Tensor4D[] } = {
      ids: [],
      terms: {},
      fakes: [],
      reals: [],
    };
    const { value, grads } = tf.variableGrads(() => {
      const out = forward();
      kept.ids = out.ids.map((t) => tf.keep(t));
      const reconstruction = tf.addN(out.pairs.map((p) => reconstructionLoss(p.target_BHWC, p.recon_BHWC, this.options.reconstruction))) as tf.Scalar;
      const terms: tf.Scalar[] = [reconstruction, out.vqLoss];
      kept.terms.reconstruction = tf.keep(reconstruction);
      kept.terms.vq = tf.keep(out.vqLoss);
      const perceptual = this.options.perceptual;
      if (perceptual) {
        const p = tf.addN(out.pairs.map((pair) => perceptual.network(pair.target_BHWC, pair.recon_BHWC))) as tf.Scalar;
        terms.push(tf.mul(p, perceptual.weight ?? 1));
        kept.terms.perceptual = tf.keep(p);
      }
      if (this.discriminator && adversarial) {
        const g = tf.addN(out.pairs.map((pair) => hingeGeneratorLoss(this.discriminator!.apply(pair.recon_BHWC)))) as tf.Scalar;
        terms.push(tf.mul(g, this.options.discriminator?.weight ?? 0.1));
        kept.terms.generator = tf.keep(g);
      }
      if (this.discriminator) {
        kept.fakes = out.pairs.map((p) => tf.keep(detach(p.recon_BHWC)));
        kept.reals = out.pairs.map((p) => tf.keep(tf.clone(p.target_BHWC)));
      }
      return tf.addN(terms) as tf.Scalar;
    }, this.variables);
    const positional = this.optimizer.parameterGrads(grads);
    let gradNorm: number;
    try {
      gradNorm = this.clipGradNorm === undefined ? await globalGradientNorm(positional) : await clipGradientNorm(positional, this.clipGradNorm);
      this.optimizer.apply(positional, this.learningRate);
    } finally {
      tf.dispose([...Object.values(grads), ...positional.values()]);
    }
    this.steps += 1;

    if (this.discriminator && this.discriminatorOptimizer) {
      const d = this.discriminator;
      const { value: dLoss, grads: dGrads } = tf.variableGrads(
        () =>
          tf.addN(kept.reals.map((real, i) => hingeDiscriminatorLoss(d.apply(real), d.apply(kept.fakes[i]!)))) as tf.Scalar,
        d.variables(),
      );
      this.discriminatorOptimizer.apply(this.discriminatorOptimizer.parameterGrads(dGrads), this.discriminatorLearningRate);
      tf.dispose(dGrads);
      kept.terms.discriminator = dLoss;
    }

    const stepUsage = new CodebookUsage(this.usage.vocabSize);
    for (const ids of kept.ids) stepUsage.add(await ids.data());
    this.usage.merge(stepUsage);
    const read = async (t: tf.Tensor) => (await t.data())[0]!;
    const loss: StepReport['loss'] = { total: await read(value), reconstruction: 0, vq: 0 };
    for (const [name, t] of Object.entries(kept.terms)) loss[name as keyof StepReport['loss']] = await read(t);
    const report: StepReport = {
      step: this.steps,
      loss,
      gradNorm,
      usage: { hits: stepUsage.hits, perplexity: stepUsage.perplexity(), deadCodes: stepUsage.deadCodes() },
    };
    tf.dispose([value, ...kept.ids, ...Object.values(kept.terms), ...kept.fakes, ...kept.reals]);
    // A macrotask between steps: read-backs on cpu/wasm resolve as microtasks, so a training loop would otherwise keep
    // the event loop (a page's UI, a worker's messages) blocked for its whole length.
    await new Promise((resolve) => setTimeout(resolve, 0));
    return report;
  }

  dispose(): void {
    this.optimizer.dispose();
    this.discriminatorOptimizer?.dispose();
    this.discriminator?.dispose();
  }
}

/** The trainer's generator, seeded from the options. */
export function trainerRng(options: TrainingOptions): RandomGenerator {
  checkNumber(options?.seed, 'options.seed', { integer: true, min: 0 });
  return new RandomGenerator(options.seed);
}
