import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { clipGradientNorm, InvalidArgumentError, RandomGenerator } from '@nextdetail/core';
import { dropConditions } from '../src/training/conditionDropout.js';
import { crossEntropy } from '../src/training/crossEntropy.js';
import { learningRateAt } from '../src/training/learningRate.js';
import { decays, varAdamW } from '../src/training/varAdamW.js';
import { VarGenerator } from '../src/varGenerator.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { thrown } from './scaleHelpers.js';

// The training step's parts against plain float64 formulas of the reference definitions.

describe(`training parts [${backendName()}]`, () => {
  it('crossEntropy = mean over tokens of −log p(target), with label smoothing (1 − ε)·nll + ε·mean(−log p)', async () => {
    const logits = [
      [[1, 2, 0.5], [0, 0, 3]],
      [[-1, 0.3, 2], [2, 1, 0]],
    ];
    const targets = [[1, 2], [0, 0]];
    const ref = (eps: number) => {
      let total = 0;
      logits.forEach((row, b) =>
        row.forEach((z, l) => {
          const lse = Math.log(z.reduce((a, v) => a + Math.exp(v), 0));
          const logp = z.map((v) => v - lse);
          total += (1 - eps) * -logp[targets[b]![l]!]! + eps * -(logp.reduce((a, v) => a + v, 0) / z.length);
        }),
      );
      return total / 4;
    };
    await expectNoLeaks(async () => {
      const z = tf.tensor3d(logits);
      const t = tf.tensor2d(targets, undefined, 'int32');
      for (const eps of [0, 0.1]) {
        const loss = crossEntropy(z, t, eps);
        expect((await loss.data())[0]).toBeCloseTo(ref(eps), 5);
        loss.dispose();
      }
      const short = tf.tensor2d([[0]], undefined, 'int32');
      const err = await thrown(() => crossEntropy(z, short));
      expect((err as InvalidArgumentError).argument).toBe('target_BL');
      tf.dispose([z, t, short]);
    });
  });

  it('learning-rate schedule: warm-up from 0.5 % of the peak, linear or cosine decay to the end ratio', () => {
    const s = { peak: 1e-3, warmupSteps: 10, totalSteps: 110, end: 0.1 };
    expect(learningRateAt(0, s)).toBeCloseTo(5e-6, 12);
    expect(learningRateAt(5, s)).toBeCloseTo(1e-3 * (0.005 + 0.995 * 0.5), 12);
    expect(learningRateAt(10, s)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(60, s)).toBeCloseTo(1e-3 * 0.55, 12);
    expect(learningRateAt(110, s)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(60, { ...s, decay: 'cosine' })).toBeCloseTo(1e-3 * 0.55, 12);
    expect(learningRateAt(35, { ...s, decay: 'cosine' })).toBeCloseTo(1e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 4))), 12);
    expect(learningRateAt(50, { ...s, hold: 0.5 })).toBeCloseTo(1e-3, 12);
    const err = (() => {
      try {
        learningRateAt(0, { ...s, warmupSteps: 200 });
      } catch (e) {
        return e;
      }
    })();
    expect((err as InvalidArgumentError).argument).toBe('schedule.warmupSteps');
  });

  it('gradient clipping scales every gradient by max/(‖g‖ + 1e-6) only when the global norm exceeds max', async () => {
    await expectNoLeaks(async () => {
      const grads = new Map<string, tf.Tensor>([
        ['a', tf.tensor1d([3, 0])],
        ['b', tf.tensor2d([[0, 4]])],
      ]);
      expect(await clipGradientNorm(grads, 10)).toBeCloseTo(5, 5);
      expect(Array.from(await grads.get('a')!.data())).toEqual([3, 0]);
      expect(await clipGradientNorm(grads, 2)).toBeCloseTo(5, 5);
      const [a, b] = await Promise.all([grads.get('a')!.data(), grads.get('b')!.data()]);
      expect(a[0]).toBeCloseTo((3 * 2) / (5 + 1e-6), 5);
      expect(b[1]).toBeCloseTo((4 * 2) / (5 + 1e-6), 5);
      tf.dispose([...grads.values()]);
    });
  });

  it('condition dropout replaces labels by the unconditional id at the given rate, seeded', () => {
    const labels = Array.from({ length: 4000 }, (_, i) => i % 7);
    const dropped = dropConditions(labels, 7, 0.1, new RandomGenerator(3));
    const rate = dropped.filter((l) => l === 7).length / labels.length;
    expect(rate).toBeGreaterThan(0.08);
    expect(rate).toBeLessThan(0.12);
    expect(Array.from(dropped).every((l, i) => l === 7 || l === labels[i])).toBe(true);
    expect(Array.from(dropConditions(labels, 7, 0.1, new RandomGenerator(3)))).toEqual(Array.from(dropped));
  });

  it("AdamW follows torch.optim.AdamW (decoupled decay, bias corrections) and VAR's no-decay rule", async () => {
    expect(decays('blocks.0.attn.mat_qkv.weight', [96, 32])).toBe(true);
    expect(decays('class_emb.weight', [5, 32])).toBe(true);
    for (const [name, shape] of [['head.bias', [4]], ['pos_1LC', [1, 30, 32]], ['blocks.0.ada_gss', [1, 1, 6, 32]], ['blocks.0.attn.scale_mul_1H11', [1, 1, 1, 1]], ['pos_start', [1, 1, 32]], ['lvl_embed.weight', [4, 32]]] as const) {
      expect(decays(name, shape), name).toBe(false);
    }
    const model = await VarGenerator.init({ depth: 1, width: 32, heads: 1, numClasses: 2, vocabSize: 4, latentChannels: 2, patchNums: [1, 2] }, new RandomGenerator(1));
    try {
      await expectNoLeaks(async () => {
        const names = ['head.weight', 'head.bias'];
        const before = await Promise.all(names.map((n) => model.params.get(n).data()));
        const opt = varAdamW(model.params, { betas: [0.9, 0.95], weightDecay: 0.05, eps: 1e-8 });
        const g1 = names.map((n) => tf.fill(model.params.get(n).shape, 0.3));
        const g2 = names.map((n) => tf.fill(model.params.get(n).shape, -0.1));
        opt.apply(new Map(names.map((n, i) => [n, g1[i]!])), 1e-2);
        opt.apply(new Map(names.map((n, i) => [n, g2[i]!])), 5e-3);
        const after = await Promise.all(names.map((n) => model.params.get(n).data()));
        names.forEach((name, i) => {
          const wd = name === 'head.weight' ? 0.05 : 0;
          let p = before[i]![0]!;
          let m = 0;
          let v = 0;
          ([[0.3, 1e-2], [-0.1, 5e-3]] as const).forEach(([g, lr], k) => {
            const t = k + 1;
            p *= 1 - lr * wd;
            m = 0.9 * m + 0.1 * g;
            v = 0.95 * v + 0.05 * g * g;
            p -= (lr / (1 - 0.9 ** t)) * (m / (Math.sqrt(v) / Math.sqrt(1 - 0.95 ** t) + 1e-8));
          });
          expect(after[i]![0], name).toBeCloseTo(p, 6);
        });
        expect(opt.stepCount).toBe(2);
        tf.dispose([...g1, ...g2]);
        opt.dispose();
      });
    } finally {
      model.dispose();
    }
  });
});
