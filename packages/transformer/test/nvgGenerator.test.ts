import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DTypeError, InvalidArgumentError, ShapeError, ValueRangeError } from '@nextdetail/core';
import { NvgGenerator } from '../src/nvg/nvgGenerator.js';
import { structureBits } from '../../tokenizers/src/quantizer/structureBits.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { ATOL, compare, int32Tensor, nvgFixtures, stageSlice, stagesOf } from './nvgFixture.js';

const files = await nvgFixtures();

describe(`NVGformer vs the NVG reference [${backendName()}]`, () => {
  it('finds at least one nvg fixture', () => expect(files.length).toBeGreaterThan(0));
});

for (const file of files) {
  const name = basename(file.name);

  describe(`${name} [${backendName()}]`, () => {
    let generator: NvgGenerator;
    let labels_BSP: tf.Tensor;
    let nvgInput_BSPX: tf.Tensor;
    let classLabels_B: tf.Tensor;

    beforeAll(async () => {
      generator = await NvgGenerator.fromStateDict(file, { prefix: 'nvgformer.' });
      labels_BSP = await int32Tensor(file, 'out.labels');
      nvgInput_BSPX = await file.tensor('out.nvg_input');
      classLabels_B = await int32Tensor(file, 'in.label');
    });

    afterAll(async () => {
      generator?.dispose();
      tf.dispose([labels_BSP, nvgInput_BSPX, classLabels_B]);
      await file.close();
    });

    /** The stage-s structure code and canvas of the teacher-forced inputs. */
    async function stageInputs(s: number): Promise<{ labels_BP: tf.Tensor; bits_BPW: tf.Tensor; canvas_BPC: tf.Tensor }> {
      const c = generator.config;
      const labels_BP = stageSlice(labels_BSP, s);
      const bits_BPW = await structureBits(labels_BP as tf.Tensor2D, s, c.structureBits);
      const canvas_BPC = tf.tidy(() => tf.slice(stageSlice(nvgInput_BSPX, s), [0, 0, 0], [-1, -1, c.cvae]));
      return { labels_BP, bits_BPW, canvas_BPC };
    }

    it(`${name}: sizes come from the state dict and every nvgformer.* tensor is used`, () => {
      const c = generator.config;
      const [b, stages, positions] = labels_BSP.shape as [number, number, number];
      expect(classLabels_B.shape).toEqual([b]);
      expect(c.stages).toBe(stages);
      expect(c.positions).toBe(positions);
      expect(c.heads * c.headDim).toBe(c.width);
      expect(generator.report.unused.filter((k) => k.startsWith('nvgformer.'))).toEqual([]);
      expect(generator.report.missing).toEqual([]);
    });

    it(`${name}: stateDict() gives back every nvgformer.* tensor bit for bit, leak-free`, async () => {
      const exported = await expectNoLeaks(() => generator.stateDict({ prefix: 'nvgformer.' }));
      const names = file.keys().filter((k) => k.startsWith('nvgformer.') && !k.startsWith('nvgformer.projector'));
      expect(Object.keys(exported).sort()).toEqual(names.sort());
      for (const key of names) {
        const original = await file.tensor(key);
        const data = Array.from(await original.data());
        expect(exported[key]!.shape, key).toEqual(original.shape);
        original.dispose();
        expect(Array.from(exported[key]!.data as Float32Array), key).toEqual(data);
      }
    });

    it(`${name}: loading and disposing a generator is leak-free`, async () => {
      await expectNoLeaks(async () => (await NvgGenerator.fromStateDict(file)).dispose());
    });

    it(`${name}: bad inputs are typed errors naming the argument, leak-free`, async () => {
      await expectNoLeaks(async () => {
        const c = generator.config;
        const { labels_BP, bits_BPW, canvas_BPC } = await stageInputs(1);
        const rope = await generator.contentRope(bits_BPW);
        const wrongCanvas = tf.zeros([2, c.positions, c.cvae + 1]);
        const floatLabels = tf.zeros([2]);
        const badBits = tf.fill([2, c.positions, c.structureBits], 3, 'int32');
        expect(() => generator.content.apply({ canvas_BPC: wrongCanvas, classLabels_B, stage: 1, rope })).toThrow(ShapeError);
        expect(() => generator.content.apply({ canvas_BPC, classLabels_B, stage: c.stages, rope })).toThrow(InvalidArgumentError);
        expect(() => generator.content.apply({ canvas_BPC, classLabels_B: floatLabels, stage: 1, rope })).toThrow(DTypeError);
        expect(() => generator.content.clusterLogits(canvas_BPC, canvas_BPC, floatLabels, 1)).toThrow(ShapeError);
        const smallBatch = tf.slice(bits_BPW, [0], [1]);
        const wrongRope = await generator.contentRope(smallBatch);
        expect(() => generator.content.apply({ canvas_BPC, classLabels_B, stage: 1, rope: wrongRope })).toThrow(ShapeError);
        tf.dispose([smallBatch, wrongRope]);
        await expect(generator.contentRope(badBits)).rejects.toThrow(ValueRangeError);
        await expect(generator.structureRope(labels_BP)).rejects.toThrow(ShapeError);
        await expect(generator.structureRope(canvas_BPC)).rejects.toThrow(DTypeError);
        tf.dispose([labels_BP, bits_BPW, canvas_BPC, rope, wrongCanvas, floatLabels, badBits]);
      });
    });

    for (const s of stagesOf(file, 'out.tf.rope_content.')) {
      it(`${name}: contentRope of the stage-${s} structure code reproduces out.tf.rope_content.${s} (item 0), leak-free`, async () => {
        const errors = await expectNoLeaks(async () => {
          const { labels_BP, bits_BPW, canvas_BPC } = await stageInputs(s);
          const rope = await generator.contentRope(bits_BPW);
          const expected = await file.tensor(`out.tf.rope_content.${s}`);
          // [B, 1, T, F] cos/sin → [[cos, −sin], [sin, cos]] per pair of item 0, as the fixture stores it.
          const actual = tf.tidy(() => {
            const cos = tf.expandDims(tf.slice(rope.cos_B1TF, [0], [1]), 4);
            const sin = tf.expandDims(tf.slice(rope.sin_B1TF, [0], [1]), 4);
            const rows = [tf.concat([cos, tf.neg(sin)], 4), tf.concat([sin, cos], 4)];
            return tf.stack(rows, 4);
          });
          const result = await compare(actual, expected, 1e-6, 0);
          tf.dispose([labels_BP, bits_BPW, canvas_BPC, rope, expected, actual]);
          return result;
        });
        console.log(`[${backendName()}] ${name} rope_content.${s}: max error ${errors.maxError}`);
        expect(errors.ok, `max error ${errors.maxError}`).toBe(true);
      });
    }

    it(`${name}: teacher-forced content pass reproduces out.tf.logits.{s} and out.tf.x0_hat.{s} within ${ATOL}, leak-free`, async () => {
      const logitStages = stagesOf(file, 'out.tf.logits.');
      const x0Stages = new Set(stagesOf(file, 'out.tf.x0_hat.'));
      expect(logitStages.length).toBe(generator.config.stages);
      for (const s of logitStages) {
        const { logits, x0 } = await expectNoLeaks(async () => {
          const { labels_BP, bits_BPW, canvas_BPC } = await stageInputs(s);
          const rope = await generator.contentRope(bits_BPW);
          const x0_BPC = generator.content.apply({ canvas_BPC, classLabels_B, stage: s, rope });
          const logits_BKV = generator.content.clusterLogits(x0_BPC, canvas_BPC, labels_BP, s);
          const expectedLogits = await file.tensor(`out.tf.logits.${s}`);
          const logits = await compare(logits_BKV, expectedLogits);
          let x0: { maxError: number; ok: boolean } | undefined;
          if (x0Stages.has(s)) {
            const expectedX0 = await file.tensor(`out.tf.x0_hat.${s}`);
            x0 = await compare(x0_BPC, expectedX0);
            expectedX0.dispose();
          }
          tf.dispose([labels_BP, bits_BPW, canvas_BPC, rope, x0_BPC, logits_BKV, expectedLogits]);
          return { logits, x0 };
        });
        console.log(`[${backendName()}] ${name} stage ${s}: logits max error ${logits.maxError}` + (x0 ? `, x0_hat ${x0.maxError}` : ''));
        expect(logits.ok, `stage ${s} logits max error ${logits.maxError}`).toBe(true);
        if (x0) expect(x0.ok, `stage ${s} x0_hat max error ${x0.maxError}`).toBe(true);
      }
    });
  });
}
