import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { AdamW, clipGradientNorm, InvalidArgumentError } from '@nextdetail/core';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

/** torch.optim.AdamW's update of one scalar parameter over a sequence of (gradient, lr), in float64. */
function torchAdamW(p: number, steps: readonly (readonly [number, number])[], wd: number, [b1, b2] = [0.9, 0.95], eps = 1e-8): number {
  let [m, v] = [0, 0];
  steps.forEach(([g, lr], k) => {
    const t = k + 1;
    p *= 1 - lr * wd;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    p -= (lr / (1 - b1 ** t)) * (m / (Math.sqrt(v) / Math.sqrt(1 - b2 ** t) + eps));
  });
  return p;
}

describe(`AdamW and gradient clipping [${backendName()}]`, () => {
  const STEPS = [[0.3, 1e-2], [-0.1, 5e-3], [0.2, 5e-3]] as const;

  it('follows torch.optim.AdamW, decaying only the parameters of rank ≥ 2 by default, leak-free', async () => {
    const weight = tf.variable(tf.fill([2, 3], 0.5));
    const bias = tf.variable(tf.fill([3], 0.5));
    const params = new Map([['w', weight], ['b', bias]]);
    await expectNoLeaks(async () => {
      const opt = new AdamW(params, { weightDecay: 0.1 });
      for (const [g, lr] of STEPS) {
        const grads = new Map([...params].map(([n, p]) => [n, tf.fill(p.shape, g)] as const));
        opt.apply(grads, lr);
        tf.dispose([...grads.values()]);
      }
      expect(opt.stepCount).toBe(3);
      expect((await weight.data())[0]).toBeCloseTo(torchAdamW(0.5, STEPS, 0.1), 6);
      expect((await bias.data())[0]).toBeCloseTo(torchAdamW(0.5, STEPS, 0), 6);
      opt.dispose();
    });
    tf.dispose([weight, bias]);
  });

  it('a `decays` rule picks the decaying parameters; parameters without a gradient stay as they are', async () => {
    const [a, b] = [tf.variable(tf.fill([2, 2], 1)), tf.variable(tf.fill([2, 2], 1))];
    const opt = new AdamW(new Map([['a', a], ['b', b]]), { weightDecay: 0.5, decays: (name) => name === 'b' });
    const zero = tf.zeros([2, 2]);
    opt.apply(new Map([['b', zero]]), 0.1);
    expect(Array.from(await a.data())).toEqual([1, 1, 1, 1]);
    expect((await b.data())[0]).toBeCloseTo(0.95, 6);
    tf.dispose([a, b, zero]);
    opt.dispose();
  });

  it('parameterGrads re-keys tf.variableGrads output by parameter name, leaving out parameters without a gradient', async () => {
    const [a, b] = [tf.variable(tf.scalar(2)), tf.variable(tf.scalar(3))];
    const opt = new AdamW(new Map([['first', a], ['second', b]]));
    const { value, grads } = tf.variableGrads(() => tf.square(b) as tf.Scalar, [a, b]);
    const byName = opt.parameterGrads(grads);
    expect([...byName.keys()]).toEqual(['second']);
    expect((await byName.get('second')!.data())[0]).toBe(6);
    tf.dispose([value, ...Object.values(grads), a, b]);
    opt.dispose();
  });

  it('restored moments and step count continue exactly where an uninterrupted run goes', async () => {
    const run = async (split: boolean) => {
      const p = tf.variable(tf.tensor1d([0.2, -0.4]));
      let opt = new AdamW(new Map([['p', p]]));
      for (const [i, [g, lr]] of STEPS.entries()) {
        if (split && i === 2) {
          const [m, v] = [tf.clone(opt.moments('exp_avg').get('p')!), tf.clone(opt.moments('exp_avg_sq').get('p')!)];
          const steps = opt.stepCount;
          opt.dispose();
          opt = new AdamW(new Map([['p', p]]));
          opt.restore(new Map([['p', m]]), new Map([['p', v]]), steps);
          tf.dispose([m, v]);
        }
        const grad = tf.tensor1d([g, -g]);
        opt.apply(new Map([['p', grad]]), lr);
        grad.dispose();
      }
      opt.dispose();
      const out = Array.from(await p.data());
      p.dispose();
      return out;
    };
    expect(await run(true)).toEqual(await run(false));
  });

  it('clipGradientNorm scales every gradient by max / (‖g‖ + 1e-6) above the bound and returns ‖g‖', async () => {
    const grads = new Map<string, tf.Tensor>([['a', tf.tensor1d([3])], ['b', tf.tensor1d([4])]]);
    expect(await clipGradientNorm(grads, 10)).toBeCloseTo(5, 5);
    expect((await grads.get('a')!.data())[0]).toBeCloseTo(3, 6);
    expect(await clipGradientNorm(grads, 1)).toBeCloseTo(5, 5);
    expect((await grads.get('b')!.data())[0]).toBeCloseTo(4 / (5 + 1e-6), 6);
    tf.dispose([...grads.values()]);
  });

  it('refuses bad options with errors that name them', () => {
    const p = tf.variable(tf.zeros([1]));
    expect(() => new AdamW(new Map([['p', p]]), { betas: [1.5, 0.9] })).toThrow(InvalidArgumentError);
    expect(() => new AdamW(new Map([['p', p]]), { eps: 0 })).toThrow(/options\.eps/);
    const opt = new AdamW(new Map([['p', p]]));
    expect(() => opt.apply(new Map(), -1)).toThrow(/lr/);
    opt.dispose();
    p.dispose();
  });
});
