import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, withDefaults } from '../validate.js';

export interface AdamWOptions {
  /** (β1, β2). Default (0.9, 0.95), what VAR, FlexVAR, NVG and their tokenizers train with. */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay (VAR: 0.05), applied to the parameters `decays` accepts. Default 0. */
  weightDecay?: number;
  /** Which parameters decay. Default: those of rank ≥ 2 (no decay on biases and norm gains). */
  decays?: (name: string, parameter: tf.Variable) => boolean;
}

const DEFAULTS = { betas: [0.9, 0.95] as const, eps: 1e-8, weightDecay: 0 };

// pytorch/pytorch torch/optim/adamw.py (the single-tensor path): p ← p·(1 − lr·wd); m ← β1·m + (1 − β1)·g;
// v ← β2·v + (1 − β2)·g²; p ← p − (lr / (1 − β1ᵗ))·m / (√v / √(1 − β2ᵗ) + eps).
/** AdamW over named tf.Variables, with first and second moments kept per name; the learning rate is given per step. */
export class AdamW {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Updates applied so far (t of the bias corrections). */
  stepCount = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly decaying = new Set<string>();

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    options: AdamWOptions = {},
  ) {
    const { decays = (_: string, p: tf.Variable) => p.rank >= 2, ...rest } = options;
    const o = withDefaults<typeof DEFAULTS>(DEFAULTS, rest as Partial<typeof DEFAULTS>);
    checkNumber(o.betas[0], 'options.betas[0]', { min: 0, max: 1 });
    checkNumber(o.betas[1], 'options.betas[1]', { min: 0, max: 1 });
    checkNumber(o.eps, 'options.eps', { min: 0, exclusiveMin: true });
    checkNumber(o.weightDecay, 'options.weightDecay', { min: 0 });
    this.betas = [o.betas[0], o.betas[1]];
    this.eps = o.eps;
    this.weightDecay = o.weightDecay;
    for (const [name, p] of params) {
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      if (decays(name, p)) this.decaying.add(name);
    }
  }

  /** First moments (`exp_avg`) or second moments (`exp_avg_sq`) by parameter name. */
  moments(which: 'exp_avg' | 'exp_avg_sq'): ReadonlyMap<string, tf.Variable> {
    return which === 'exp_avg' ? this.m : this.v;
  }

  /**
   * `grads` as tf.variableGrads returns them (keyed by each tf.Variable's own name), keyed by this optimizer's
   * parameter names instead, in parameter order; parameters without a gradient are left out.
   */
  parameterGrads(grads: tf.NamedTensorMap): Map<string, tf.Tensor> {
    return new Map([...this.params].flatMap(([name, p]) => (grads[p.name] === undefined ? [] : [[name, grads[p.name]!] as const])));
  }

  /** Applies one update with learning rate `lr` from `grads` (by parameter name; parameters without one are left alone). */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    checkNumber(lr, 'lr', { min: 0 });
    this.stepCount++;
    const [b1, b2] = this.betas;
    const bc1 = 1 - b1 ** this.stepCount;
    const bc2Sqrt = Math.sqrt(1 - b2 ** this.stepCount);
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      if (p === undefined) throw new Error(`internal: a gradient for "${name}", which is not one of the optimizer's parameters`);
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      const wd = this.decaying.has(name) ? this.weightDecay : 0;
      tf.tidy(() => {
        const decayed = wd > 0 ? tf.mul(p, 1 - lr * wd) : p;
        const mNew = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const vNew = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(vNew), bc2Sqrt), this.eps);
        m.assign(mNew);
        v.assign(vNew);
        p.assign(tf.sub(decayed, tf.mul(tf.div(mNew, denom), lr / bc1)));
      });
    }
  }

  /** Restores the moments (by parameter name, shapes already checked by the caller) and the step count. */
  restore(m: ReadonlyMap<string, tf.Tensor>, v: ReadonlyMap<string, tf.Tensor>, stepCount: number): void {
    checkNumber(stepCount, 'stepCount', { min: 0, integer: true });
    for (const [name, t] of m) this.m.get(name)?.assign(t);
    for (const [name, t] of v) this.v.get(name)?.assign(t);
    this.stepCount = stepCount;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
