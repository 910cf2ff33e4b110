import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { fixturePath } from '../../../test/fixtures.js';
import { readFileSync } from 'node:fs';
import { FidInception } from '../src/index.js';
import { goldenInput, hash01, hashWeightSource, readLayout } from './hashWeights.js';

const goldenFile = 'inception_golden.out';
const text = readFileSync(fixturePath('eval', goldenFile), 'utf8');
const golden = JSON.parse(text.slice(0, text.lastIndexOf('}') + 1)) as Record<string, { first8: number[]; sum: number; l2: number; max: number }>;
const tfLayout = readLayout(fixturePath('eval', 'torch_fidelity_inception_layout.txt'));
const fidLayout = readLayout(fixturePath('eval', 'fid_inception_state_dict_layout.txt'));

function close(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-4 + 1e-4 * Math.abs(expected));
}

async function summary(t: tf.Tensor2D): Promise<{ first8: number[]; sum: number; l2: number; max: number }> {
  const v = Array.from(await t.data());
  return { first8: v.slice(0, 8), sum: v.reduce((a, b) => a + b, 0), l2: Math.hypot(...v), max: Math.max(...v) };
}

function expectSummary(actual: Awaited<ReturnType<typeof summary>>, key: string): void {
  const g = golden[key]!;
  actual.first8.forEach((v, i) => close(v, g.first8[i]!));
  close(actual.sum, g.sum);
  close(actual.l2, g.l2);
  close(actual.max, g.max);
}

describe(`FID-Inception forward vs ${goldenFile} (${backendName()})`, () => {
  it('hash check values of the README', () => {
    expect([0, 1, 2, 3].map((e) => hash01(0, e))).toEqual([0, 0.42703575268387794, 0.6726807311642915, 0.1380766979418695]);
    expect([0, 1, 2].map((e) => hash01(7, e))).toEqual([0.07137146173045039, 0.49282008199952543, 0.9595444642473012]);
    expect(hash01(3, 123456)).toBe(0.6781680292915553);
    expect(tfLayout.length).toBe((golden as unknown as Record<string, number>).n_state_dict_entries_torch_fidelity);
    expect(tfLayout.filter((e) => e.name.endsWith('conv.weight')).length).toBe((golden as unknown as Record<string, number>).n_basicconv2d);
  });

  let tfModel: FidInception;
  let fidModel: FidInception;
  beforeAll(async () => {
    tfModel = await FidInception.load(hashWeightSource(tfLayout));
    fidModel = await FidInception.load(hashWeightSource(fidLayout));
  });
  afterAll(() => {
    tfModel?.dispose();
    fidModel?.dispose();
  });

  it('torch-fidelity layout, tf1 resize: pool3, logits_unbiased, logits', async () => {
    expect(tfModel.layout).toBe('torchvision');
    const x = goldenInput();
    const out = await expectNoLeaks(async () => {
      const o = await tfModel.features(x, 'tf1');
      const s = { pool3: await summary(o.pool3), lu: await summary(o.logitsUnbiased!), l: await summary(o.logits!), spatial: o.spatial.shape };
      tf.dispose([o.pool3, o.spatial, o.logitsUnbiased!, o.logits!]);
      return s;
    });
    x.dispose();
    expectSummary(out.pool3, 'torch_fidelity_tf1_resize_pool3');
    expectSummary(out.lu, 'torch_fidelity_logits_unbiased');
    expectSummary(out.l, 'torch_fidelity_logits');
    expect(out.spatial).toEqual([1, 17 * 17 * 7]);
  });

  it('pytorch-fid layout (blocks.*), half-pixel resize: pool3', async () => {
    expect(fidModel.layout).toBe('pytorch-fid');
    expect(fidModel.hasClassifier).toBe(false);
    const x = goldenInput();
    const s = await expectNoLeaks(async () => {
      const o = await fidModel.features(x, 'pytorch-fid');
      expect(o.logits).toBeNull();
      const r = await summary(o.pool3);
      tf.dispose([o.pool3, o.spatial]);
      return r;
    });
    x.dispose();
    expectSummary(s, 'pytorch_fid_halfpixel_resize_pool3_same_weights');
  });
});
