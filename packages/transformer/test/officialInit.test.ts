import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, RandomGenerator } from '@nextdetail/core';
import { VarGenerator } from '../src/varGenerator.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { thrown } from './scaleHelpers.js';

// VAR's init_weights (reference-digest §1.5) on a model wide enough for the statistics to be tight.

const C = 128;
const DEPTH = 3;
const config = { depth: DEPTH, width: C, heads: 2, numClasses: 5, vocabSize: 32, latentChannels: 4, patchNums: [1, 2, 3] };

async function std(t: tf.Tensor, rows?: [number, number]): Promise<number> {
  // tfjs layout: linear weights are [in, out], so PyTorch rows are columns here.
  const x = rows ? tf.slice(t, [0, rows[0]], [-1, rows[1] - rows[0]]) : t;
  const v = Array.from(await x.data());
  if (x !== t) x.dispose();
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
}

describe(`official initialisation [${backendName()}]`, () => {
  it('follows init_weights: std √(1/3C), scaled head, AdaLN rows and residual projections, zero biases, scale_mul = ln 4', async () => {
    const initStd = Math.sqrt(1 / (3 * C));
    const model = await VarGenerator.init(config, new RandomGenerator(7), { initAdaLnGamma: 1e-3, initAdaLn: 0.5, initHead: 0.02 });
    try {
      await expectNoLeaks(async () => {
        const p = model.params;
        const near = (actual: number, want: number) => {
          expect(actual / want).toBeGreaterThan(0.9);
          expect(actual / want).toBeLessThan(1.1);
        };
        near(await std(p.get('blocks.0.ffn.fc1.weight')), initStd);
        near(await std(p.get('class_emb.weight')), initStd);
        near(await std(p.get('pos_1LC')), initStd);
        near(await std(p.get('head.weight')), initStd * 0.02);
        near(await std(p.get('head_nm.ada_lin.1.weight')), initStd * 0.5);
        near(await std(p.get('blocks.1.attn.proj.weight')), initStd / Math.sqrt(2 * DEPTH));
        near(await std(p.get('blocks.2.ffn.fc2.weight')), initStd / Math.sqrt(2 * DEPTH));
        near(await std(p.get('blocks.0.ada_lin.1.weight'), [0, 2 * C]), initStd * 1e-3);
        near(await std(p.get('blocks.0.ada_lin.1.weight'), [2 * C, 6 * C]), initStd * 0.5);
        for (const name of ['head.bias', 'blocks.0.attn.q_bias', 'blocks.1.ada_lin.1.bias', 'word_embed.bias']) {
          expect(Array.from(await p.get(name).data()).every((v) => v === 0), name).toBe(true);
        }
        const scaleMul = Array.from(await p.get('blocks.0.attn.scale_mul_1H11').data());
        expect(scaleMul).toEqual(scaleMul.map(() => Math.fround(Math.log(4))));
        const fc1 = Array.from(await p.get('blocks.0.ffn.fc1.weight').data());
        expect(fc1.every((v) => Math.abs(v) <= 2)).toBe(true);
      });
    } finally {
      model.dispose();
    }
  });

  it('draws from the seed: the same seed gives the same weights, another seed others; shared AdaLN gets ada_gss', async () => {
    const shared = { ...config, sharedAdaLn: true };
    const [a, b, c] = await Promise.all([
      VarGenerator.init(shared, new RandomGenerator(1)),
      VarGenerator.init(shared, new RandomGenerator(1)),
      VarGenerator.init(shared, new RandomGenerator(2)),
    ]);
    try {
      const w = (m: VarGenerator) => m.params.get('blocks.1.ada_gss').data().then((d) => Array.from(d));
      const [wa, wb, wc] = await Promise.all([w(a), w(b), w(c)]);
      expect(wa).toEqual(wb);
      expect(wa).not.toEqual(wc);
      // ada_gss = randn/√C with the gate rows ×init_adaln_gamma (1e-5 by default) and the rest ×0.5.
      const gates = wa.slice(0, 2 * C);
      const rest = wa.slice(2 * C);
      expect(Math.max(...gates.map(Math.abs))).toBeLessThan(1e-4);
      const restStd = Math.sqrt(rest.reduce((s, v) => s + v * v, 0) / rest.length);
      expect(restStd).toBeGreaterThan(0.4 / Math.sqrt(C));
      expect(restStd).toBeLessThan(0.6 / Math.sqrt(C));
      expect(a.params.names()).toContain('shared_ada_lin.1.weight');
    } finally {
      for (const m of [a, b, c]) m.dispose();
    }
  });

  it('rejects bad configs and options with typed errors naming the field', async () => {
    const bad = await thrown(() => VarGenerator.init({ ...config, heads: 3 }, new RandomGenerator(0)));
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect((bad as InvalidArgumentError).argument).toBe('config.heads');
    const schedule = await thrown(() => VarGenerator.init({ ...config, patchNums: [2, 3] }, new RandomGenerator(0)));
    expect((schedule as InvalidArgumentError).argument).toBe('config.patchNums[0]');
    const option = await thrown(() => VarGenerator.init(config, new RandomGenerator(0), { initHead: Number.NaN }));
    expect((option as InvalidArgumentError).argument).toBe('options.initHead');
  });
});
