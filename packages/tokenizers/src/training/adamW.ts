import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '@nextdetail/core';

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

/**
 * AdamW (Loshchilov & Hutter): p ← p − lr·wd·p, then Adam's bias-corrected step. VAR trains with betas (0.9, 0.95),
 * weight decay 0.05 without decay on 1-D parameters, and a gradient clip of 2.0 (reference digest §1.8).
 */
// pytorch/pytorch torch/optim/adamw.py (the update rule); FoundationVision/VAR@78b9539:utils/lr_control.py (no-decay set)
export class AdamW {
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly clipGradNorm: number | undefined;
  private steps = 0;
  private readonly moments: Map<tf.Variable, { m: tf.Variable; v: tf.Variable }>;

  constructor(
    readonly variables: readonly tf.Variable[],
    config: AdamWConfig,
  ) {
    const { learningRate, beta1 = 0.9, beta2 = 0.95, epsilon = 1e-8, weightDecay = 0, clipGradNorm } = config;
    checkNumber(learningRate, 'config.learningRate', { min: 0 });
    checkNumber(beta1, 'config.beta1', { min: 0, max: 1 });
    checkNumber(beta2, 'config.beta2', { min: 0, max: 1 });
    checkNumber(epsilon, 'config.epsilon', { min: 0 });
    checkNumber(weightDecay, 'config.weightDecay', { min: 0 });
    if (clipGradNorm !== undefined) checkNumber(clipGradNorm, 'config.clipGradNorm', { min: 0 });
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.weightDecay = weightDecay;
    this.clipGradNorm = clipGradNorm;
    const zeros = (p: tf.Variable) => tf.tidy(() => tf.variable(tf.zerosLike(p), false));
    this.moments = new Map(variables.map((p) => [p, { m: zeros(p), v: zeros(p) }]));
  }

  /**
   * One update from `grads` (by variable name, as tf.variableGrads returns them; variables without a gradient are
   * left alone). Returns the global gradient norm before clipping, a scalar the caller disposes.
   */
  apply(grads: tf.NamedTensorMap): tf.Scalar {
    this.steps += 1;
    const t = this.steps;
    return tf.tidy(() => {
      const present = this.variables.filter((p) => grads[p.name] !== undefined);
      const norm = tf.sqrt(tf.addN(present.map((p) => tf.sum(tf.square(grads[p.name]!))).concat(tf.scalar(0)))) as tf.Scalar;
      const scale = this.clipGradNorm === undefined ? tf.scalar(1) : tf.minimum(1, tf.div(this.clipGradNorm, tf.add(norm, 1e-6)));
      const [c1, c2] = [1 - this.beta1 ** t, 1 - this.beta2 ** t];
      for (const p of present) {
        const g = tf.mul(grads[p.name]!, scale);
        const { m, v } = this.moments.get(p)!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const decayed = p.rank >= 2 && this.weightDecay > 0 ? tf.mul(p, 1 - this.learningRate * this.weightDecay) : p;
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), this.epsilon));
        p.assign(tf.sub(decayed, tf.mul(update, this.learningRate)));
      }
      return norm;
    });
  }

  /** Updates applied so far. */
  get stepCount(): number {
    return this.steps;
  }

  /** The first and second moments of every variable, in the order of `variables` (the optimizer's own tensors). */
  momentsInOrder(): { m: tf.Variable[]; v: tf.Variable[] } {
    const moments = this.variables.map((p) => this.moments.get(p)!);
    return { m: moments.map((x) => x.m), v: moments.map((x) => x.v) };
  }

  /** Sets the moments (in the order of `variables`, shapes already checked by the caller) and the update count. */
  restore(m: readonly tf.Tensor[], v: readonly tf.Tensor[], steps: number): void {
    checkNumber(steps, 'steps', { integer: true, min: 0 });
    this.variables.forEach((p, i) => {
      const moments = this.moments.get(p)!;
      moments.m.assign(m[i]!);
      moments.v.assign(v[i]!);
    });
    this.steps = steps;
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) tf.dispose([m, v]);
    this.moments.clear();
  }
}
