import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import { VarTokenizer, varTokenizerConfigFromReference } from '../src/varTokenizer.js';
import type { TokenPlan } from '../src/tokenizer.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';
import { maxAbsDiff, readNhwc } from './helpers.js';

const fixtures: SafetensorsFile[] = [];
for (const path of listFixtures('reference', '.safetensors')) {
  const file = await readSafetensorsFile(path);
  if (file.metadata.kind === 'var_vqvae') fixtures.push(file);
  else await file.close();
}

describe(`VarTokenizer (Tokenizer interface) end to end vs reference fixtures [${backendName()}]`, () => {
  it('finds var_vqvae fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  afterAll(() => Promise.all(fixtures.map((f) => f.close())));

  for (const file of fixtures) {
    const name = basename(file.name);
    describe(name, () => {
      let tokenizer: VarTokenizer;
      let img_BHWC: tf.Tensor4D;
      beforeAll(async () => {
        const { VQVAE } = JSON.parse(file.metadata.config_json ?? '{}') as { VQVAE: Record<string, unknown> };
        tokenizer = await VarTokenizer.fromStateDict(file, varTokenizerConfigFromReference(VQVAE));
        img_BHWC = await readNhwc(file, 'in.img');
      });
      afterAll(() => {
        tokenizer?.dispose();
        img_BHWC?.dispose();
      });

      it(`${name}: encode gives the reference token ids per scale, decode the reference image, leak-free`, async () => {
        await expectNoLeaks(async () => {
          const plan: TokenPlan = await tokenizer.encode(img_BHWC);
          const scaleKeys = file.keys().filter((k) => /^out\.idx\.\d+$/.test(k));
          expect(plan.steps).toHaveLength(scaleKeys.length);
          for (const [si, step] of plan.steps.entries()) {
            const want = await file.rawTensor(`out.idx.${si}`);
            expect(step.kind).toBe('scale');
            expect(step.size[0] * step.size[1]).toBe(want.shape[1]);
            expect(Array.from(await step.idx_Bl.data())).toEqual(Array.from(want.data as BigInt64Array, Number));
          }
          const image = tokenizer.decode(plan);
          const wantImage = await readNhwc(file, 'out.img_clamped');
          expect(await maxAbsDiff(image, wantImage)).toBeLessThan(5e-4);
          const input = tokenizer.teacherForcing(plan);
          const wantInput = await file.tensor('out.var_input');
          expect(await maxAbsDiff(input, wantInput)).toBeLessThan(1e-4);
          tf.dispose([plan, image, wantImage, input, wantInput]);
        });
      });
    });
  }
});
