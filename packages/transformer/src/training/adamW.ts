import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, withDefaults } from '@nextdetail/core';
import type { ParameterStore } from '../parameterStore.js';

export interface AdamWOptions {
  /** (β1, β2); the VAR and FlexVAR papers use (0.9, 0.95). */
  betas?: readonly [number, number];
  eps?: number;
  /** Decoupled weight decay (VAR: 0.05), applied to the parameters `decays` accepts. */
  weightDecay?: number;
}

const DEFAULTS = { betas: [0.9, 0.95] as const, eps: 1e-8, weightDecay: 0.05 };

/** Name fragments VAR exempts from weight decay (FoundationVision/VAR@78b9539:utils/lr_control.py filter_params). */
const NO_DECAY_KEYS = [
  'cls_token', 'start_token', 'task_token', 'cfg_uncond', 'pos_embed', 'pos_1LC', 'pos_start', 'start_pos',
  'lvl_embed', 'gamma', 'beta', 'ada_gss', 'moe_bias', 'scale_mul',
];

/** VAR's weight-decay rule: no decay on 1-D parameters, biases and the named embeddings/gains. */
export function decays(name: string, torchShape: readonly number[]): boolean {
  return torchShape.length > 1 && !name.endsWith('bias') && !NO_DECAY_KEYS.some((k) => name.includes(k));
}

// torch.optim.AdamW (the update of PyTorch's single-tensor path): p ← p·(1 − lr·wd); m ← β1·m + (1 − β1)·g;
// v ← β2·v + (1 − β2)·g²; p ← p − (lr / (1 − β1ᵗ))·m / (√v / √(1 − β2ᵗ) + eps).
/** AdamW over a ParameterStore's variables; first and second moments kept per parameter name. */
export class AdamW {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Updates applied so far (t of the bias corrections). */
  stepCount = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly params: ParameterStore,
    options: AdamWOptions = {},
  ) {
    const o = withDefaults<typeof DEFAULTS>(DEFAULTS, options as Partial<typeof DEFAULTS>);
    checkNumber(o.betas[0], 'options.betas[0]', { min: 0, max: 1 });
    checkNumber(o.betas[1], 'options.betas[1]', { min: 0, max: 1 });
    checkNumber(o.eps, 'options.eps', { min: 0, exclusiveMin: true });
    checkNumber(o.weightDecay, 'options.weightDecay', { min: 0 });
    this.betas = [o.betas[0], o.betas[1]];
    this.eps = o.eps;
    this.weightDecay = o.weightDecay;
    for (const name of params.names()) {
      const p = params.get(name);
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /** First moments (`exp_avg`) or second moments (`exp_avg_sq`) by parameter name, tfjs layout. */
  moments(which: 'exp_avg' | 'exp_avg_sq'): ReadonlyMap<string, tf.Variable> {
    return which === 'exp_avg' ? this.m : this.v;
  }

  /** Applies one update with learning rate `lr` from `grads` (by parameter name; missing names are skipped). */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    checkNumber(lr, 'lr', { min: 0 });
    this.stepCount++;
    const [b1, b2] = this.betas;
    const bc1 = 1 - b1 ** this.stepCount;
    const bc2Sqrt = Math.sqrt(1 - b2 ** this.stepCount);
    for (const [name, g] of grads) {
      const p = this.params.get<tf.Variable>(name);
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      const spec = this.params.specs[name]!;
      const wd = decays(name, spec.shape) ? this.weightDecay : 0;
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

  /** Restores the moments (tfjs layout, by parameter name) and the step count, e.g. from a checkpoint. */
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
