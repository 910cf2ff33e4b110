import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GranularityQuantizer } from '@nextdetail/tokenizers';
import { NvgGenerator } from '../../transformer/src/nvg/nvgGenerator.js';
import { flowSchedule } from '../src/nvg/flowSchedule.js';
import { nvgStage } from '../src/nvg/nvgStage.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { compare, mismatches, nvgFixtures, stageSlice, stagesOf } from '../../transformer/test/nvgFixture.js';
import { int32Tensor, nvgSpec } from './nvgFixture.js';

const files = await nvgFixtures();

describe(`NVG stage step vs the NVG reference [${backendName()}]`, () => {
  it('finds at least one nvg fixture', () => expect(files.length).toBeGreaterThan(0));
});

for (const file of files) {
  const name = basename(file.name);
  const spec = nvgSpec(file);

  describe(`${name} [${backendName()}]`, () => {
    let generator: NvgGenerator;
    let quantizer: GranularityQuantizer;
    let labels_BSP: tf.Tensor;
    let tokens_BSP: tf.Tensor;
    let classLabels_B: tf.Tensor;
    let noise_BPW: tf.Tensor;

    beforeAll(async () => {
      generator = await NvgGenerator.fromStateDict(file);
      quantizer = await GranularityQuantizer.fromStateDict(file);
      labels_BSP = await int32Tensor(file, 'out.labels');
      tokens_BSP = await int32Tensor(file, 'out.tokens');
      classLabels_B = await int32Tensor(file, 'in.label');
      noise_BPW = await file.tensor('in.structure_noise');
    });

    afterAll(async () => {
      generator?.dispose();
      quantizer?.dispose();
      tf.dispose([labels_BSP, tokens_BSP, classLabels_B, noise_BPW]);
      await file.close();
    });

    for (const n of stagesOf(file, 'out.schedule.')) {
      it(`${name}: flowSchedule(${n}, P) reproduces out.schedule.${n}`, async () => {
        const expected = await file.tensor(`out.schedule.${n}`);
        const actual = tf.tensor1d(flowSchedule(n, generator.config.positions));
        const errors = await compare(actual, expected, 1e-7, 0);
        tf.dispose([expected, actual]);
        expect(errors.ok, `max error ${errors.maxError}`).toBe(true);
      });
    }

    const splitStages = new Set(stagesOf(file, 'out.tf.structure_pred.'));
    for (const s of stagesOf(file, 'out.tf.pred.')) {
      const checked = splitStages.has(s) ? `, out.tf.pred.${s} and out.tf.structure_pred.${s}` : ` and out.tf.pred.${s}`;
      it(`${name}: teacher-forced stage ${s} reproduces out.tf.logits.${s}${checked}, leak-free`, { timeout: 600_000 }, async () => {
        const settings = spec.teacher_forced;
        expect(settings.top_k).toBe(1);
        const found = await expectNoLeaks(async () => {
          const labels_BP = stageSlice(labels_BSP, s);
          const result = await nvgStage(
            generator,
            quantizer,
            { tokens_BSP, labels_BP, classLabels_B, stage: s, structureNoise_BPW: noise_BPW },
            { contentCfg: settings.cfg, structureCfg: settings.cfg, structureSteps: settings.structure_sampling_step, topK: settings.top_k },
          );
          const expectedLogits = await file.tensor(`out.tf.logits.${s}`);
          const expectedPred = await int32Tensor(file, `out.tf.pred.${s}`);
          const logits = await compare(result.logits_BKV, expectedLogits);
          const pred = await mismatches(result.tokens_BP, expectedPred);
          let split: number[] | null = null;
          if (splitStages.has(s)) {
            const expectedSplit = await int32Tensor(file, `out.tf.structure_pred.${s}`);
            expect(result.nextLabels_BP).not.toBeNull();
            split = await mismatches(result.nextLabels_BP!, expectedSplit);
            expectedSplit.dispose();
          }
          tf.dispose([labels_BP, expectedLogits, expectedPred, result.logits_BKV, result.tokens_BP, result.tokens_BSP, result.canvas_BPC]);
          result.nextLabels_BP?.dispose();
          return { logits, pred, split };
        });
        console.log(
          `[${backendName()}] ${name} tf stage ${s}: logits max error ${found.logits.maxError}, ` +
            `${found.pred.length} token and ${found.split?.length ?? '-'} split mismatch(es)`,
        );
        expect(found.logits.ok, `stage ${s} logits max error ${found.logits.maxError}`).toBe(true);
        expect(found.pred.length, `stage ${s} tokens`).toBe(0);
        if (found.split) expect(found.split.length, `stage ${s} split`).toBe(0);
      });
    }
  });
}
