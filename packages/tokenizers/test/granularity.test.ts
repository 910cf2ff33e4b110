import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, type TensorSource, ValueRangeError } from '@nextdetail/core';
import { granularityClustering } from '../src/quantizer/granularityClustering.js';
import { GranularityQuantizer } from '../src/quantizer/granularityQuantizer.js';
import { structureBits, structureLabels } from '../src/quantizer/structureBits.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { rejects } from './helpers.js';

/** An in-memory checkpoint in PyTorch layout: codebook [V, C] and `stages` Phi convolutions. */
function memorySource(v: number, c: number, stages: number): TensorSource {
  const shapes: Record<string, number[]> = { 'quantize.embedding.weight': [v, c] };
  for (let s = 0; s < stages; s++) {
    shapes[`quantize.quant_resi.${s}.weight`] = [c, c, 3, 3];
    shapes[`quantize.quant_resi.${s}.bias`] = [c];
  }
  return {
    keys: () => Object.keys(shapes),
    info: (name) => ({ dtype: 'F32', shape: shapes[name]! }),
    tensor: async (name) => {
      const n = shapes[name]!.reduce((a, d) => a * d, 1);
      return tf.tensor(Float32Array.from({ length: n }, (_, k) => Math.sin(k * 1.7 + name.length) * 0.3), shapes[name]);
    },
  };
}

describe(`granularity clustering [${backendName()}]`, () => {
  it('pairs the globally closest clusters first, numbers merges in pick order and relabels children 2p, 2p + 1', async () => {
    // Round 1 picks (1, 3) (distance 1) before (0, 2) (distance 1.5); round 2 merges those two.
    const labels = await expectNoLeaks(async () => {
      const f = tf.tensor4d([0, 10, 1.5, 11], [1, 2, 2, 1]);
      const result = await granularityClustering(f);
      const data = Array.from(await result.data());
      tf.dispose([f, result]);
      return data;
    });
    expect(labels).toEqual([0, 0, 0, 0, 1, 0, 1, 0, 2, 0, 3, 1]);
  });

  it('builds equal-size clusters whose parents are ⌊label/2⌋ on random latents', async () => {
    const f = tf.randomNormal([2, 4, 8, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const labels = await granularityClustering(f);
    expect(labels.shape).toEqual([2, 6, 32]);
    const data = await labels.data();
    for (let b = 0; b < 2; b++)
      for (let s = 0; s < 6; s++) {
        const counts = new Array<number>(2 ** s).fill(0);
        for (let p = 0; p < 32; p++) {
          const label = data[(b * 6 + s) * 32 + p]!;
          counts[label]!++;
          if (s > 0) expect(Math.floor(label / 2)).toBe(data[(b * 6 + s - 1) * 32 + p]);
        }
        expect(counts.every((n) => n === 32 / 2 ** s)).toBe(true);
      }
    tf.dispose([f, labels]);
  });

  it('rejects a latent whose position count is not a power of two, naming f_BHWC', async () => {
    const f = tf.zeros([1, 3, 2, 2]) as tf.Tensor4D;
    await rejects(granularityClustering(f), ShapeError, 'f_BHWC');
    f.dispose();
  });
});

describe(`structure bits [${backendName()}]`, () => {
  it('writes 2·bit MSB first, 1 for unknown bits, and inverts exactly, leak-free', async () => {
    const { bits, back } = await expectNoLeaks(async () => {
      const labels = tf.tensor2d([0, 5, 7, 2], [1, 4], 'int32');
      const bits_BPW = await structureBits(labels, 3, 4);
      const back_BP = await structureLabels(bits_BPW, 3);
      const result = { bits: Array.from(await bits_BPW.data()), back: Array.from(await back_BP.data()) };
      tf.dispose([labels, bits_BPW, back_BP]);
      return result;
    });
    expect(bits).toEqual([0, 0, 0, 1, 2, 0, 2, 1, 2, 2, 2, 1, 0, 2, 0, 1]);
    expect(back).toEqual([0, 5, 7, 2]);
  });

  it('rejects labels out of the stage range and codes that are not bit codes, leak-free', async () => {
    await expectNoLeaks(async () => {
      const labels = tf.tensor2d([0, 8], [1, 2], 'int32');
      await rejects(structureBits(labels, 3, 8), ValueRangeError, 'labels_BP');
      const bits = tf.tensor3d([0, 2, 1, 1, 2, 0], [1, 2, 3], 'int32');
      await rejects(structureLabels(bits, 2), ValueRangeError, 'bits_BPW');
      tf.dispose([labels, bits]);
    });
  });
});

describe(`GranularityQuantizer [${backendName()}]`, () => {
  it('reads sizes from the checkpoint and rejects bad latents, structure maps and tokens with typed errors', async () => {
    const quantizer = await GranularityQuantizer.fromStateDict(memorySource(8, 2, 3));
    expect([quantizer.vocabSize, quantizer.cvae, quantizer.stages]).toEqual([8, 2, 3]);
    const f = tf.randomNormal([1, 2, 2, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const wrongChannels = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    const wrongGrid = tf.zeros([1, 2, 4, 2]) as tf.Tensor4D;
    const outOfRange = tf.tensor3d([0, 0, 0, 0, 0, 1, 2, 1, 0, 1, 2, 3], [1, 3, 4], 'int32');
    const notNested = tf.tensor3d([0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 3, 1], [1, 3, 4], 'int32');
    const tooFewStages = tf.zeros([1, 2, 4], 'int32') as tf.Tensor3D;
    await expectNoLeaks(async () => {
      await rejects(quantizer.encode(wrongChannels), ShapeError, 'f_BHWC');
      await rejects(quantizer.cluster(wrongGrid), ShapeError, 'f_BHWC');
      await rejects(quantizer.encode(f, { labels_BSP: outOfRange }), ValueRangeError, 'labels_BSP');
      await rejects(quantizer.encode(f, { labels_BSP: notNested }), ValueRangeError, 'labels_BSP');
      await rejects(quantizer.encode(f, { labels_BSP: tooFewStages }), ShapeError, 'labels_BSP');
      expect(() => quantizer.tokensToFhat(tooFewStages)).toThrow(ShapeError);
    });
    const tokens = tf.zeros([1, 3, 4], 'int32') as tf.Tensor3D;
    expect(() => quantizer.tokensToFhat(tokens, [3, 2])).toThrow(InvalidArgumentError);
    tf.dispose([f, wrongChannels, wrongGrid, outOfRange, notNested, tooFewStages, tokens]);
    quantizer.dispose();
  });

  it('encodes a user-supplied uneven structure map, and its tokens decode to the encoder f̂, leak-free', async () => {
    const quantizer = await GranularityQuantizer.fromStateDict(memorySource(8, 2, 3));
    const f = tf.randomNormal([1, 1, 4, 2], 0, 1, 'float32', 5) as tf.Tensor4D;
    // Stage 1 splits 3 + 1 and stage 2 leaves label 1 unused: neither needs the equal split of clustering.
    const labels = tf.tensor3d([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2], [1, 3, 4], 'int32');
    const error = await expectNoLeaks(async () => {
      const encoding = await quantizer.encode(f, { labels_BSP: labels });
      const fhat = quantizer.tokensToFhat(encoding.tokens_BSP, [1, 4]);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(fhat, encoding.fhat_BHWC))));
      const result = (await diff.data())[0]!;
      tf.dispose([encoding, fhat, diff]);
      return result;
    });
    expect(error).toBeLessThan(1e-5);
    tf.dispose([f, labels]);
    quantizer.dispose();
  });
});
