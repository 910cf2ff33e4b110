import { basename } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError } from '@nextdetail/core';
import { generatorConfigFromReference } from '../src/generatorConfig.js';
import { VarGenerator, varConfigFromStateDict } from '../src/varGenerator.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { expectClose, openFixtures, thrown } from './scaleHelpers.js';

// Teacher-forced parity with VAR.forward on every `kind: var_transformer` fixture; the architecture is read off the
// state dict (the held-out twin has other sizes).
const fixtures = await openFixtures('var_transformer');

describe(`VarGenerator vs reference fixtures [${backendName()}]`, () => {
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

      it(`${name}: the config read off the state dict is the reference constructor's`, async () => {
        const { VAR } = JSON.parse(file.metadata.config_json ?? '{}') as { VAR: Record<string, unknown> };
        const ref = generatorConfigFromReference(VAR);
        const derived = await varConfigFromStateDict(file);
        for (const key of ['depth', 'width', 'heads', 'numClasses', 'mlpRatio', 'sharedAdaLn', 'attnL2Norm'] as const) {
          expect(derived[key], key).toBe(ref[key]);
        }
        expect(derived.patchNums).toEqual(VAR.patch_nums);
      });

      it(`${name}: loads every parameter key-for-key; only the buffers are ignored`, () => {
        expect(model.report.missing).toEqual([]);
        expect(model.report.unused.filter((k) => !/^(in|out)\./.test(k))).toEqual([]);
        const buffers = file.keys().filter((k) => /(^|\.)(lvl_1L|attn_bias_for_masking|zero_k_bias)$/.test(k));
        expect(model.report.ignored).toEqual(buffers.sort());
        expect(model.params.names().length + buffers.length).toBe(file.keys().filter((k) => !/^(in|out)\./.test(k)).length);
      });

      it(`${name}: forward(in.label, in.x_BLCv_wo_first_l) matches out.logits, leak-free`, async ({ annotate }) => {
        const maxErr = await expectNoLeaks(async () => {
          const out = model.forward(label_B, x_BLCv);
          try {
            return await expectClose(out, logits_BLV, 'out.logits');
          } finally {
            out.dispose();
          }
        });
        await annotate(`max |error| ${maxErr.toExponential(2)}`);
      });

      it(`${name}: forward takes plain label arrays and a schedule prefix`, async () => {
        const labels = Array.from(await label_B.data());
        await expectNoLeaks(async () => {
          const [pn0, pn1] = model.config.patchNums as [number, number];
          const L2 = pn0 * pn0 + pn1 * pn1;
          const x = tf.slice(x_BLCv, [0, 0, 0], [-1, L2 - 1, -1]);
          const out = model.forward(labels, x);
          const want = tf.slice(logits_BLV, [0, 0, 0], [-1, L2, -1]);
          try {
            await expectClose(out, want, 'out.logits (first two scales)');
          } finally {
            tf.dispose([x, out, want]);
          }
        });
      });

      it(`${name}: bad inputs are typed errors naming the argument`, async () => {
        const B = label_B.shape[0];
        const bad = tf.zeros([B, 7, model.config.latentChannels]) as tf.Tensor3D;
        const floatLabels = tf.zeros([B]) as tf.Tensor1D;
        try {
          const shapeErr = await thrown(() => model.forward(label_B, bad));
          expect(shapeErr).toBeInstanceOf(ShapeError);
          expect((shapeErr as ShapeError).argument).toBe('x_BLCv_wo_first_l');
          const dtypeErr = await thrown(() => model.forward(floatLabels, x_BLCv));
          expect((dtypeErr as InvalidArgumentError).argument).toBe('label_B');
          const rangeErr = await thrown(() => model.forward(Array.from({ length: B }, () => model.config.numClasses + 1), x_BLCv));
          expect(rangeErr).toBeInstanceOf(InvalidArgumentError);
          expect((rangeErr as InvalidArgumentError).argument).toBe('label_B[0]');
        } finally {
          tf.dispose([bad, floatLabels]);
        }
      });
    });
  }
});
