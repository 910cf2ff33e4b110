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
});
