import { basename } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RandomGenerator } from '@nextdetail/core';
import { FlexVarGenerator, flexVarConfigFromStateDict } from '../src/flexVarGenerator.js';
import { generatorConfigFromReference } from '../src/generatorConfig.js';
import type { ScaleSize } from '../src/scales.js';
import { sinCos2dTable } from '../src/sinCos2d.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { expectClose, openFixtures, scaleRanges } from './scaleHelpers.js';

// Parity with FlexVAR.forward on every `kind: flexvar` fixture (state dict under the "flexvar." prefix), the KV-cached
// steps against it, the sin-cos initialisation against `flexvar.pos_1LC_init`, and cached steps on non-square grids.
const PREFIX = 'flexvar.';
const fixtures = await openFixtures('flexvar');

describe(`FlexVarGenerator vs reference fixtures [${backendName()}]`, () => {
  it('finds flexvar fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  afterAll(() => Promise.all(fixtures.map((file) => file.close())));

  for (const file of fixtures) {
    const name = basename(file.name);
    describe(name, () => {
      let model: FlexVarGenerator;
      let label_B: tf.Tensor1D;
      let x_BLCv: tf.Tensor3D;
      let logits_BLV: tf.Tensor3D;
      let trainPns: number[];

      beforeAll(async () => {
        model = await FlexVarGenerator.fromStateDict(file, undefined, { prefix: PREFIX });
        label_B = (await file.tensor('in.label')) as tf.Tensor1D;
        x_BLCv = (await file.tensor('out.x_BLCv_wo_first_l')) as tf.Tensor3D;
        logits_BLV = (await file.tensor('out.logits')) as tf.Tensor3D;
        trainPns = (JSON.parse(file.metadata.spec_json ?? '{}') as { train_patch_nums: number[] }).train_patch_nums;
      });
      afterAll(() => {
        model?.dispose();
        tf.dispose([label_B, x_BLCv, logits_BLV]);
      });

      it(`${name}: the config read off the state dict is the reference constructor's; every parameter loads`, () => {
        const { FlexVAR } = JSON.parse(file.metadata.config_json ?? '{}') as { FlexVAR: Record<string, unknown> };
        const ref = generatorConfigFromReference(FlexVAR);
        const derived = flexVarConfigFromStateDict(file, PREFIX);
        for (const key of ['depth', 'width', 'heads', 'numClasses', 'sharedAdaLn', 'attnL2Norm'] as const) {
          if (ref[key] !== undefined) expect(derived[key], key).toBe(ref[key]);
        }
        expect(derived.positionSide).toBe(file.info(`${PREFIX}pos_1LC`).shape[2]);
        expect(model.report.missing).toEqual([]);
        const leftOver = model.report.unused.filter((k) => k.startsWith(PREFIX));
        expect(leftOver).toEqual([`${PREFIX}pos_1LC_init`]);
        expect(model.report.ignored.every((k) => k.endsWith('zero_k_bias'))).toBe(true);
      });

      it(`${name}: the 2-D sin-cos table equals flexvar.pos_1LC_init`, async () => {
        const shape = file.info(`${PREFIX}pos_1LC_init`).shape;
        const want = await file.tensor(`${PREFIX}pos_1LC_init`);
        const ours = tf.tensor(sinCos2dTable(shape[1]!, shape[2]!), shape);
        try {
          await expectClose(ours, want, 'flexvar.pos_1LC_init');
        } finally {
          tf.dispose([want, ours]);
        }
      });

      it(`${name}: forward(in.label, out.x_BLCv_wo_first_l, train_patch_nums) matches out.logits, leak-free`, async ({ annotate }) => {
        const maxErr = await expectNoLeaks(async () => {
          const out = model.forward(label_B, x_BLCv, trainPns);
          try {
            return await expectClose(out, logits_BLV, 'out.logits');
          } finally {
            out.dispose();
          }
        });
        await annotate(`max |error| ${maxErr.toExponential(2)}`);
      });

      it(`${name}: KV-cached steps over train_patch_nums reproduce out.logits, leak-free`, async () => {
        const ranges = scaleRanges(trainPns.map((pn) => [pn, pn] as const));
        await expectNoLeaks(async () => {
          const cache = model.createCache(label_B, trainPns);
          try {
            for (const [si, [begin, end]] of ranges.entries()) {
              const x = si === 0 ? null : tf.slice(x_BLCv, [0, begin - 1, 0], [-1, end - begin, -1]);
              const out = model.step(cache, x);
              const want = tf.slice(logits_BLV, [0, begin, 0], [-1, end - begin, -1]);
              try {
                await expectClose(out, want, `out.logits scale ${si}`);
              } finally {
                x?.dispose();
                tf.dispose([out, want]);
              }
            }
          } finally {
            cache.dispose();
          }
        });
      });

      it(`${name}: any (h, w) schedule: cached steps equal the teacher-forced forward (non-square, past the table)`, async () => {
        const schedule: ScaleSize[] = [1, [1, 2], [2, 3], [3, 5], [model.config.positionSide + 3, 2]];
        const sizes = schedule.map((s) => (Array.isArray(s) ? s : [s, s])) as Array<[number, number]>;
        const ranges = scaleRanges(sizes);
        const L = ranges.at(-1)![1];
        const B = label_B.shape[0];
        const x = new RandomGenerator(7).normal([B, L - 1, model.config.latentChannels]) as tf.Tensor3D;
        await expectNoLeaks(async () => {
          const full = model.forward(label_B, x, schedule);
          const cache = model.createCache(label_B, schedule);
          try {
            for (const [si, [begin, end]] of ranges.entries()) {
              const xi = si === 0 ? null : tf.slice(x, [0, begin - 1, 0], [-1, end - begin, -1]);
              const out = model.step(cache, xi);
              const want = tf.slice(full, [0, begin, 0], [-1, end - begin, -1]);
              try {
                await expectClose(out, want, `scale ${si} (${sizes[si]!.join('×')})`);
              } finally {
                xi?.dispose();
                tf.dispose([out, want]);
              }
            }
          } finally {
            cache.dispose();
            full.dispose();
          }
        });
        x.dispose();
      });
    });
  }
});

describe(`FlexVarGenerator.init [${backendName()}]`, () => {
  it('starts the position table at the 2-D sin-cos values and draws the rest from the seed', async () => {
    const a = await FlexVarGenerator.init({ depth: 1, width: 32, heads: 1, numClasses: 3, vocabSize: 16, latentChannels: 4, positionSide: 8 }, new RandomGenerator(1));
    const b = await FlexVarGenerator.init({ depth: 1, width: 32, heads: 1, numClasses: 3, vocabSize: 16, latentChannels: 4, positionSide: 8 }, new RandomGenerator(1));
    try {
      const table = tf.transpose(tf.tensor(sinCos2dTable(32, 8), [1, 32, 8, 8]), [0, 2, 3, 1]);
      await expectClose(a.params.get('pos_1LC'), table, 'pos_1LC');
      table.dispose();
      const [wa, wb] = await Promise.all([a.params.get('blocks.0.ffn.fc1.weight').data(), b.params.get('blocks.0.ffn.fc1.weight').data()]);
      expect(Array.from(wa)).toEqual(Array.from(wb));
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
