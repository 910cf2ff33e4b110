import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { RandomGenerator, ShapeError } from '@nextdetail/core';
import { blockCausalKeyLimits } from '../src/blockCausalKeyLimits.js';
import { attentionComposite } from '../src/kernels/attention/composite.js';
import { ATTENTION, attention } from '../src/kernels/attention/register.js';
import { scaleLayout } from '../src/scales.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

// The attention op (the JS kernel on cpu, the WebGPU kernel on webgpu, the composite elsewhere) against its composite
// from core ops: block-causal prefix masks and the unmasked KV-cached step, head sizes that do and do not divide the
// WebGPU key tile, more keys than one tile, and the registered gradient against autodiff of the composite.

/** |a − b| ≤ atol + rtol·|b| elementwise. */
async function expectAgree(actual: tf.Tensor, expected: tf.Tensor, rtol: number, atol: number): Promise<void> {
  expect(actual.shape).toEqual(expected.shape);
  const [a, b] = [await actual.data(), await expected.data()];
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) - (atol + rtol * Math.abs(b[i]!)));
  expect(worst).toBeLessThanOrEqual(0);
}

/** The per-query key limits of block-causal attention over `scales`, with `past` cached keys before them. */
function blockCausalLimits(scales: number[], past = 0): tf.Tensor1D {
  const layout = scaleLayout(scales);
  const limits = new Int32Array(layout.length);
  layout.begin.forEach((b, si) => {
    const [h, w] = layout.sizes[si]!;
    limits.fill(past + b + h * w, b, b + h * w);
  });
  return tf.tensor1d(limits, 'int32');
}

const cases = [
  { name: 'block-causal 1,2,3,5 (L 39), 2×2 heads of 20, scale 0.25/√20', B: 2, H: 2, c: 20, scales: [1, 2, 3, 5], past: 0, scale: 0.25 / Math.sqrt(20) },
  { name: 'block-causal 1,2,4,8,10 (L 185), 1×3 heads of 32, scale 1', B: 1, H: 3, c: 32, scales: [1, 2, 4, 8, 10], past: 0, scale: 1 },
  { name: 'unmasked KV step, 70 queries on 150 cached keys, 2×2 heads of 16', B: 2, H: 2, c: 16, scales: null, Lq: 70, past: 150, scale: 0.0625 },
];

describe(`attention op vs its composite [${backendName()}]`, () => {
  const rng = new RandomGenerator(20261122);
  const kept: tf.Tensor[] = [];
  afterAll(() => kept.forEach((t) => t.dispose()));

  for (const cs of cases) {
    const Lq = cs.scales ? scaleLayout(cs.scales).length : cs.Lq!;
    const Lk = Lq + cs.past;
    const make = (L: number, std: number) => {
      const t = rng.normal([cs.B, cs.H, L, cs.c], 0, std) as tf.Tensor4D;
      kept.push(t);
      return t;
    };
    // Spread-out scores (std ≈ 3 before scaling) so that the softmax is far from uniform.
    const qStd = 3 / (Math.sqrt(cs.c) * cs.scale);
    const [q, k, v] = [make(Lq, qStd), make(Lk, 1), make(Lk, 1)];
    const limitsOf = () => (cs.scales ? blockCausalLimits(cs.scales, cs.past) : null);

    it(`${cs.name}: outputs agree to 1e-5 relative, leak-free`, () =>
      expectNoLeaks(async () => {
        const limits = limitsOf();
        const [out, ref] = [attention(q, k, v, cs.scale, limits), attentionComposite(q, k, v, cs.scale, limits)];
        await expectAgree(out, ref, 1e-5, 1e-6);
        tf.dispose([out, ref, ...(limits ? [limits] : [])]);
      }));

    it(`${cs.name}: gradients agree with autodiff of the composite, leak-free`, () =>
      expectNoLeaks(async () => {
        const limits = limitsOf();
        const dO = rng.normal(q.shape) as tf.Tensor4D;
        const grads = (f: (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor) =>
          tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D), dO)))([q, k, v]);
        const ours = grads((a, b, c) => attention(a, b, c, cs.scale, limits));
        const ref = grads((a, b, c) => attentionComposite(a, b, c, cs.scale, limits));
        for (let i = 0; i < 3; i++) await expectAgree(ours[i]!, ref[i]!, 1e-4, 1e-5);
        tf.dispose([...ours, ...ref, dO, ...(limits ? [limits] : [])]);
      }));
  }

  it('runs as one custom kernel on cpu and webgpu, as the composite elsewhere', async () => {
    const q = rng.normal([1, 1, 3, 4]) as tf.Tensor4D;
    const kv = rng.normal([1, 1, 5, 4]) as tf.Tensor4D;
    const profile = await tf.profile(() => attention(q, kv, kv, 0.5, null));
    const names = profile.kernels.map((kernel) => kernel.name);
    if (backendName() === 'cpu' || backendName() === 'webgpu') expect(names).toContain(ATTENTION);
    else expect(names).not.toContain(ATTENTION);
    tf.dispose([q, kv, profile.result as tf.Tensor]);
  });

  it('a row whose limit reaches every key equals the unmasked result', async () => {
    const q = rng.normal([1, 2, 4, 8]) as tf.Tensor4D;
    const kv = rng.normal([1, 2, 9, 8]) as tf.Tensor4D;
    const limits = tf.tensor1d([9, 9, 9, 9], 'int32');
    const [masked, plain] = [attention(q, kv, kv, 0.3, limits), attention(q, kv, kv, 0.3, null)];
    await expectAgree(masked, plain, 0, 0);
    tf.dispose([q, kv, limits, masked, plain]);
  });

  it('blockCausalKeyLimits gives every query the end of its scale', async () => {
    const limits = blockCausalKeyLimits(scaleLayout([1, 2, [3, 2]]));
    expect(Array.from(await limits.data())).toEqual([1, 5, 5, 5, 5, 11, 11, 11, 11, 11, 11]);
    limits.dispose();
  });

  it('rejects mismatched shapes and dtypes with ShapeError naming the argument', () => {
    const q = tf.zeros([1, 2, 3, 4]) as tf.Tensor4D;
    const k = tf.zeros([1, 2, 5, 4]) as tf.Tensor4D;
    const vBad = tf.zeros([1, 2, 6, 4]) as tf.Tensor4D;
    const limitsBad = tf.tensor1d([1, 2], 'int32');
    expect(() => attention(q, k, vBad, 1, null)).toThrow(ShapeError);
    expect(() => attention(q, k, vBad, 1, null)).toThrow(/v_BHLc/);
    expect(() => attention(q, k, k, 1, limitsBad)).toThrow(/keyLimit_Lq/);
    tf.dispose([q, k, vBad, limitsBad]);
  });
});
