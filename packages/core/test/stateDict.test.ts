import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fromTorchLayout, InvalidArgumentError, loadStateDict, ShapeError, tfjsShape, type TensorSource } from '@nextdetail/core';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

/** An in-memory checkpoint whose tensor i holds 0, 1, 2, … in PyTorch layout. */
function memorySource(shapes: Record<string, number[]>): TensorSource {
  return {
    keys: () => Object.keys(shapes),
    info: (name) => ({ dtype: 'F32', shape: shapes[name]! }),
    tensor: async (name) => tf.tensor(Float32Array.from({ length: shapes[name]!.reduce((a, b) => a * b, 1) }, (_, i) => i), shapes[name]!),
  };
}

describe(`state-dict loading and layouts [${backendName()}]`, () => {
  it('converts OIHW conv kernels to HWIO, Linear [out, in] to [in, out], NCHW to NHWC', async () => {
    const w = tf.tensor4d(Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i), [2, 3, 2, 2]);
    const hwio = fromTorchLayout(w, 'conv2d', 'w');
    expect(hwio.shape).toEqual([2, 2, 3, 2]);
    expect(tfjsShape([2, 3, 2, 2], 'conv2d')).toEqual([2, 2, 3, 2]);
    // HWIO[h, w, i, o] = OIHW[o, i, h, w]
    const [a, b] = [await hwio.array(), await w.array()] as [number[][][][], number[][][][]];
    expect(a[1]![0]![2]![1]).toBe(b[1]![2]![1]![0]);
    const lin = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const t = fromTorchLayout(lin, 'linear', 'fc.weight');
    expect(t.shape).toEqual([3, 2]);
    expect(Array.from(await t.data())).toEqual([1, 4, 2, 5, 3, 6]);
    const nchw = tf.zeros([1, 3, 4, 5]);
    const img = fromTorchLayout(nchw, 'nchw', 'x');
    expect(img.shape).toEqual([1, 4, 5, 3]);
    expect(() => fromTorchLayout(lin, 'conv2d', 'enc.conv.weight')).toThrow(/enc\.conv\.weight: expected a rank-4 tensor for a conv2d parameter, got shape \[2, 3\]/);
    tf.dispose([w, hwio, lin, t, nchw, img]);
  });

  it('loads what the spec asks for, and reports unused, missing-optional and ignorable keys, leak-free', async () => {
    const source = memorySource({
      'model.proj.weight': [4, 3],
      'model.proj.bias': [4],
      'model.extra': [2],
      'model.blocks.0.attn.zero_k_bias': [4],
      'model.attn_bias_for_masking': [1, 1, 3, 3],
    });
    await expectNoLeaks(async () => {
      const { tensors, report } = await loadStateDict(
        source,
        { 'proj.weight': { shape: [4, 3], transform: 'linear' }, 'proj.bias': { shape: [4] }, 'head.bias': { shape: [2], optional: true } },
        { prefix: 'model.' },
      );
      expect([...tensors.keys()]).toEqual(['proj.weight', 'proj.bias']);
      expect(tensors.get('proj.weight')!.shape).toEqual([3, 4]);
      expect(report).toEqual({
        missing: ['model.head.bias'],
        unused: ['model.extra'],
        ignored: ['model.attn_bias_for_masking', 'model.blocks.0.attn.zero_k_bias'],
      });
      tf.dispose([...tensors.values()]);
    });
  });

  it('names the tensor, the expected and the actual shape when the checkpoint does not fit the config', async () => {
    const source = memorySource({ 'embed.weight': [10, 8] });
    const before = tf.memory().numTensors;
    await expect(loadStateDict(source, { 'embed.weight': { shape: [12, 8] } })).rejects.toThrow(ShapeError);
    await expect(loadStateDict(source, { 'embed.weight': { shape: [12, 8] } })).rejects.toThrow(
      /embed\.weight: expected shape \[12, 8\] \(from the model config\), got shape \[10, 8\] in the checkpoint/,
    );
    await expect(loadStateDict(source, { 'head.weight': { shape: [2, 2] } })).rejects.toThrow(InvalidArgumentError);
    await expect(loadStateDict(source, { 'head.weight': { shape: [2, 2] } })).rejects.toThrow(/checkpoint: expected every parameter the model needs, got no head\.weight/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
