import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, RandomGenerator, ShapeError } from '@nextdetail/core';
import { nvgConfigFor, nvgConfigFromStateDict } from '../src/nvg/nvgConfig.js';
import { NvgGenerator } from '../src/nvg/nvgGenerator.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { thrown } from '../../../test/errors.js';
import { memorySource } from '../../tokenizers/test/helpers.js';

describe(`nvgConfigFor [${backendName()}]`, () => {
  it('derives positions, structure bits, RoPE axes and flow stages; a generator built from it reads back the same config', async () => {
    const config = nvgConfigFor({ stages: 5, cvae: 4, vocabSize: 16, numClasses: 10, width: 64, depth: 2, heads: 2, timeEmbedDim: 16 });
    expect(config).toMatchObject({ positions: 16, structureBits: 4, ropeAxes: 7, structureStages: 3, headDim: 32, mlpHidden: 256 });
    expect(config).toMatchObject({ structureWidth: 32, structureDepth: 2, structureHeads: 1, structureHeadDim: 32, structureMlpHidden: 128 });
    const generator = await NvgGenerator.init(config, new RandomGenerator(0));
    const exported = await expectNoLeaks(() => generator.stateDict());
    generator.dispose();
    const source = memorySource(Object.fromEntries(Object.entries(exported).map(([k, t]) => [k, { shape: [...t.shape], data: t.data as Float32Array }])));
    expect(nvgConfigFromStateDict(source)).toEqual(config);
  });

  it('names the size that does not fit', async () => {
    const base = { stages: 5, cvae: 4, vocabSize: 16, numClasses: 10, width: 64, depth: 2, heads: 2 };
    expect(((await thrown(() => nvgConfigFor({ ...base, heads: 3 }))) as InvalidArgumentError).argument).toBe('sizes.heads');
    expect(((await thrown(() => nvgConfigFor({ ...base, stages: 2 }))) as InvalidArgumentError).argument).toBe('sizes.stages');
    // A 16-wide head cannot hold 8 identity + 2·4 structure + two even spatial axes.
    expect(await thrown(() => nvgConfigFor({ ...base, heads: 4 }))).toBeInstanceOf(ShapeError);
    expect(((await thrown(() => nvgConfigFor({ ...base, mlpRatio: 0.3 }))) as InvalidArgumentError).argument).toBe('sizes.mlpRatio');
  });

  it('init takes the scale factors (S + 1 positive numbers), which the content generator applies; others are refused by name', async () => {
    const config = nvgConfigFor({ stages: 3, cvae: 4, vocabSize: 16, numClasses: 2, width: 64, depth: 1, heads: 1, timeEmbedDim: 16 });
    const factors = [1, 5.5, 4.8, 4.5];
    const scaled = await NvgGenerator.init(config, new RandomGenerator(0), { scaleFactors: factors });
    const plain = await NvgGenerator.init(config, new RandomGenerator(0));
    expect(Array.from((await scaled.stateDict())['scale_factors']!.data as Float32Array)).toEqual(factors.map(Math.fround));
    expect(Array.from((await plain.stateDict())['scale_factors']!.data as Float32Array)).toEqual([1, 1, 1, 1]);
    // The same weights read a stage-1 canvas 5.5× larger and divide the prediction by 4.5.
    const bits = tf.tensor3d(Int32Array.from({ length: 4 * 2 }, (_, i) => (i % 2 === 0 ? (Math.floor(i / 2) % 2) * 2 : 1)), [1, 4, 2], 'int32');
    const canvas_BPC = tf.tidy(() => tf.mul(tf.reshape(tf.range(0, 16, 1, 'float32'), [1, 4, 4]), 0.01));
    const [ropeScaled, ropePlain] = [await scaled.contentRope(bits), await plain.contentRope(bits)];
    const classLabels_B = tf.tensor1d([0], 'int32');
    const x0Scaled = scaled.content.apply({ canvas_BPC, classLabels_B, stage: 1, rope: ropeScaled });
    const x0Plain = tf.tidy(() => tf.div(plain.content.apply({ canvas_BPC: tf.mul(canvas_BPC, 5.5), classLabels_B, stage: 1, rope: ropePlain }), 4.5));
    const [a, b] = [await x0Scaled.data(), await x0Plain.data()];
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 5));
    tf.dispose([bits, canvas_BPC, classLabels_B, x0Scaled, x0Plain, ropeScaled.cos_B1TF, ropeScaled.sin_B1TF, ropePlain.cos_B1TF, ropePlain.sin_B1TF]);
    scaled.dispose();
    plain.dispose();
    for (const bad of [[1, 2, 3], [1, 2, 0, 3], [1, 2, Number.NaN, 3]]) {
      const err = await thrown(() => NvgGenerator.init(config, new RandomGenerator(0), { scaleFactors: bad }));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).argument).toMatch(/^scaleFactors/);
    }
  });
});
