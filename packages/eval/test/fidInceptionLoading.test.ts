import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors, type WritableRawTensor } from '@nextdetail/core';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { fixturePath } from '../../../test/fixtures.js';
import { FidInception, loadFidInception, loadFidInceptionWeights } from '../src/index.js';
import { thrown } from './goldenInputs.js';
import { hashValues, hashWeightSource, readLayout, type LayoutEntry } from './hashWeights.js';
import { writeTorchZip, type TorchEntry } from './torchZip.js';

const tfLayoutFile = 'torch_fidelity_inception_layout.txt';
const fidLayoutFile = 'fid_inception_state_dict_layout.txt';
const tfLayout = readLayout(fixturePath('eval', tfLayoutFile));
const fidLayout = readLayout(fixturePath('eval', fidLayoutFile));

/** The entries of a layout as torch would save them: float tensors, and int64 num_batches_tracked scalars. */
function torchEntries(layout: LayoutEntry[]): TorchEntry[] {
  return layout.map((e) => ({ name: e.name, shape: e.shape, data: hashValues(e) ?? BigInt64Array.of(7n) }));
}

/** Same weights, same input: equal up to the backend's float32 accumulation order (WebGPU may differ run to run). */
function expectSame(a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  expect(diff).toBeLessThan(1e-5);
}

async function pool3Of(model: FidInception, x: tf.Tensor4D): Promise<Float32Array> {
  const o = await model.forward(x);
  const v = (await o.pool3.data()) as Float32Array;
  tf.dispose(Object.values(o).filter((t): t is tf.Tensor2D => t !== null));
  return v;
}

describe(`FID-Inception checkpoints (${backendName()})`, () => {
  let reference: FidInception;
  // A small input keeps this a loading test: 80×80 is the smallest the stem and the stride-2 blocks accept.
  const input = () => tf.tidy(() => tf.sin(tf.reshape(tf.range(0, 80 * 80 * 3), [1, 80, 80, 3])) as tf.Tensor4D);
  beforeAll(async () => {
    reference = await FidInception.load(hashWeightSource(tfLayout));
  });
  afterAll(() => reference?.dispose());

  it(`a torch .pth with ${fidLayoutFile} names (blocks.*, int64 num_batches_tracked) loads to the same network`, async () => {
    const bytes = await writeTorchZip(torchEntries(fidLayout));
    const model = await loadFidInception(bytes);
    const x = input();
    try {
      expect(model.layout).toBe('pytorch-fid');
      expect(model.hasClassifier).toBe(false);
      const [a, b] = await expectNoLeaks(async () => [await pool3Of(model, x), await pool3Of(reference, x)]);
      expectSame(a!, b!);
    } finally {
      model.dispose();
      x.dispose();
    }
  });

  it(`a safetensors file and a .pth with ${tfLayoutFile} names load to the same network with its fc`, async () => {
    const tensors: Record<string, WritableRawTensor> = {};
    for (const e of tfLayout) {
      const data = hashValues(e);
      if (data) tensors[e.name] = { dtype: 'F32', shape: e.shape, data };
    }
    const fromSafetensors = await loadFidInception(await writeSafetensors(tensors));
    const fromPth = await loadFidInception(await writeTorchZip(torchEntries(tfLayout)));
    const x = input();
    try {
      expect(fromSafetensors.hasClassifier && fromPth.hasClassifier).toBe(true);
      const ref = await pool3Of(reference, x);
      expectSame(await pool3Of(fromSafetensors, x), ref);
      expectSame(await pool3Of(fromPth, x), ref);
    } finally {
      fromSafetensors.dispose();
      fromPth.dispose();
      x.dispose();
    }
  });

  it('names a missing or misshapen parameter', async () => {
    const missing = tfLayout.filter((e) => e.name !== 'Mixed_6b.branch7x7_2.bn.running_var');
    const e1 = (await thrown(() => loadFidInceptionWeights(hashWeightSource(missing)))) as Error;
    expect(e1.name).toBe('InvalidArgumentError');
    expect(e1.message).toContain('Mixed_6b.branch7x7_2.bn.running_var');
    const wrong = tfLayout.map((e) => (e.name === 'Mixed_7c.branch1x1.conv.weight' ? { ...e, shape: [320, 2048, 3, 1] } : e));
    const e2 = (await thrown(() => loadFidInceptionWeights(hashWeightSource(wrong)))) as { name: string; argument: string };
    expect(e2.name).toBe('ShapeError');
    expect(e2.argument).toBe('Mixed_7c.branch1x1.conv.weight');
    const e3 = (await thrown(() => loadFidInceptionWeights(hashWeightSource([{ k: 0, name: 'foo.weight', shape: [1] }])))) as Error;
    expect(e3.name).toBe('InvalidArgumentError');
  });
});
