import { basename } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError } from '@nextdetail/core';
import { VarGenerator } from '../src/varGenerator.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { expectClose, openFixtures, scaleRanges, thrown } from './scaleHelpers.js';

// KV-cached inference: running the scales one by one reproduces the teacher-forced logits of the fixture (VAR's
// inference attends to cache + current scale, which is the block-causal mask of training).
const fixtures = await openFixtures('var_transformer');

describe(`VarGenerator KV-cached steps vs reference fixtures [${backendName()}]`, () => {
  it('finds var_transformer fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  afterAll(() => Promise.all(fixtures.map((file) => file.close())));

  for (const file of fixtures) {
    const name = basename(file.name);
    describe(name, () => {
      let model: VarGenerator;
      let label_B: tf.Tensor1D;
      let x_BLCv: tf.Tensor3D;
      let logits_BLV: tf.Tensor3D;

      beforeAll(async () => {
        model = await VarGenerator.fromStateDict(file);
        label_B = (await file.tensor('in.label')) as tf.Tensor1D;
        x_BLCv = (await file.tensor('in.x_BLCv_wo_first_l')) as tf.Tensor3D;
        logits_BLV = (await file.tensor('out.logits')) as tf.Tensor3D;
      });
      afterAll(() => {
        model?.dispose();
        tf.dispose([label_B, x_BLCv, logits_BLV]);
      });

      /** Scale si's slice of the teacher-forcing input (inputs start at scale 1). */
      const inputOf = (begin: number, end: number) => tf.slice(x_BLCv, [0, begin - 1, 0], [-1, end - begin, -1]);

      it(`${name}: step-by-step logits with the cache equal out.logits at every scale, leak-free`, async () => {
        const ranges = scaleRanges(model.config.patchNums.map((pn) => [pn, pn] as const));
        await expectNoLeaks(async () => {
          const cache = model.createCache(label_B);
          try {
            for (const [si, [begin, end]] of ranges.entries()) {
              const x = si === 0 ? null : inputOf(begin, end);
              const out = model.step(cache, x);
              const want = tf.slice(logits_BLV, [0, begin, 0], [-1, end - begin, -1]);
              try {
                await expectClose(out, want, `out.logits scale ${si}`);
              } finally {
                x?.dispose();
                tf.dispose([out, want]);
              }
              expect(cache.length).toBe(end);
            }
            expect(cache.done).toBe(true);
            const B = label_B.shape[0];
            const { width, depth } = model.config;
            expect(cache.byteLength).toBe(depth * 2 * B * model.config.patchNums.reduce((a, pn) => a + pn * pn, 0) * width * 4);
          } finally {
            cache.dispose();
          }
          expect(cache.isDisposed).toBe(true);
        });
      });

      it(`${name}: a doubled CFG batch (conditional rows, then unconditional) gives the conditional rows unchanged`, async () => {
        const labels = Array.from(await label_B.data());
        const B = labels.length;
        const nc = model.config.numClasses;
        const [begin, end] = scaleRanges(model.config.patchNums.map((pn) => [pn, pn] as const))[1]!;
        await expectNoLeaks(async () => {
          const cache = model.createCache([...labels, ...labels.map(() => nc)]);
          const x = inputOf(begin, end);
          const x2 = tf.concat([x, x], 0) as tf.Tensor3D;
          try {
            const first = model.step(cache, null);
            expect(first.shape[0]).toBe(2 * B);
            first.dispose();
            const out = model.step(cache, x2);
            const cond = tf.slice(out, [0, 0, 0], [B, -1, -1]);
            const want = tf.slice(logits_BLV, [0, begin, 0], [-1, end - begin, -1]);
            try {
              await expectClose(cond, want, 'conditional rows of scale 1');
            } finally {
              tf.dispose([out, cond, want]);
            }
          } finally {
            tf.dispose([x, x2]);
            cache.dispose();
          }
        });
      });

      it(`${name}: wrong step inputs are typed errors; a finished or disposed cache is refused`, async () => {
        await expectNoLeaks(async () => {
          const cache = model.createCache(label_B, model.config.patchNums.slice(0, 2));
          const wrong = tf.zeros([label_B.shape[0], 3, model.config.latentChannels]) as tf.Tensor3D;
          const pn1 = model.config.patchNums[1]!;
          const right = tf.zeros([label_B.shape[0], pn1 * pn1, model.config.latentChannels]) as tf.Tensor3D;
          try {
            const first = await thrown(() => model.step(cache, wrong));
            expect((first as InvalidArgumentError).argument).toBe('x_BlCv');
            model.step(cache, null).dispose();
            const shapeErr = await thrown(() => model.step(cache, wrong));
            expect(shapeErr).toBeInstanceOf(ShapeError);
            model.step(cache, right).dispose();
            expect((await thrown(() => model.step(cache, right)) as InvalidArgumentError).argument).toBe('cache');
          } finally {
            tf.dispose([wrong, right]);
            cache.dispose();
          }
          expect((await thrown(() => model.step(cache, null)) as InvalidArgumentError).argument).toBe('cache');
          const badSchedule = await thrown(() => model.createCache(label_B, [1, 3]));
          expect((badSchedule as InvalidArgumentError).argument).toBe('patchNums');
        });
      });
    });
  }
});
