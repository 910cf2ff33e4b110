import { basename } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { backendName, expectNoLeaks } from '../../../test/backend';
import { openFixtures } from '../../../test/fixtures';
import { generateScalePlan } from '../src/index';
import { flexVarPipeline, labelsOf, varPipeline } from './pipelines';

// The loop reproduces the reference's greedy inference traces (top_k = 1): VAR's autoregressive_infer_cfg for every
// `kind: var_transformer` fixture (cfg from the key) and FlexVAR's traces of every `kind: flexvar` fixture (schedule,
// cfg, mode and max_pn from spec_json). Steps the fixture README lists as float32 near-ties may flip ≤ 2 tokens.
const NEAR_TIE_ALLOWANCE = 2;

async function ids(t: tf.Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

const varFiles = await openFixtures('var_transformer');
const flexFiles = await openFixtures('flexvar');
afterAll(() => Promise.all([...varFiles, ...flexFiles].map((f) => f.close())));

describe(`generateScalePlan vs VAR's greedy traces [${backendName()}]`, () => {
  it('finds var_transformer fixtures', () => expect(varFiles.length).toBeGreaterThan(0));

  for (const file of varFiles) {
    const name = basename(file.name);
    const cfgs = [...new Set(file.keys().flatMap((k) => /^out\.infer_cfg([\d.]+)\.fhat$/.exec(k)?.[1] ?? []))];
    it(`${name}: every infer_cfg trace (${cfgs.join(', ')}) — token ids exact, final f̂ ≤ 1e-4, leak-free`, async () => {
      const { tokenizer, generator, images_BHWC } = await varPipeline(file);
      images_BHWC.dispose();
      const labels = await labelsOf(file);
      try {
        for (const g of cfgs) {
          await expectNoLeaks(async () => {
            const plan = await generateScalePlan(tokenizer, generator, { labels, cfg: Number(g), topK: 1 });
            for (const [si, step] of plan.steps.entries()) {
              const ref = await file.tensor(`out.infer_cfg${g}.idx.${si}`);
              expect(await ids(step.idx_Bl), `cfg ${g} step ${si}`).toEqual(await ids(ref));
              ref.dispose();
            }
            const fhat = tokenizer.planToLatent(plan);
            const ref = await file.tensor(`out.infer_cfg${g}.fhat`);
            const refNhwc = tf.transpose(ref, [0, 2, 3, 1]);
            const errT = tf.tidy(() => tf.max(tf.abs(tf.sub(fhat, refNhwc))));
            expect((await errT.data())[0], `cfg ${g} f̂`).toBeLessThanOrEqual(1e-4);
            tf.dispose([fhat, ref, refNhwc, errT, plan.steps.map((s) => s.idx_Bl)]);
          });
        }
      } finally {
        tokenizer.dispose();
        generator.dispose();
      }
    });
  }
});

interface FlexTrace {
  patch_nums: number[];
  cfg: number;
  cfg_mode: 'var_ramp' | 'plain';
  max_pn: number;
  top_k: number;
}

describe(`generateScalePlan vs FlexVAR's greedy traces [${backendName()}]`, () => {
  it('finds flexvar fixtures', () => expect(flexFiles.length).toBeGreaterThan(0));

  for (const file of flexFiles) {
    const name = basename(file.name);
    const { traces } = JSON.parse(file.metadata.spec_json ?? '{}') as { traces: Record<string, FlexTrace> };
    for (const [tag, trace] of Object.entries(traces)) {
      it(`${name}: trace ${tag} (${trace.cfg_mode} cfg ${trace.cfg}, [${trace.patch_nums.join(',')}]) token ids, leak-free`, async () => {
        const { tokenizer, generator } = await flexVarPipeline(file);
        const labels = await labelsOf(file);
        let mismatches = 0;
        try {
          await expectNoLeaks(async () => {
            const plan = await generateScalePlan(tokenizer, generator, {
              labels,
              cfg: trace.cfg,
              guidance: trace.cfg_mode === 'plain' ? 'plain' : 'flexvar',
              maxPn: trace.max_pn,
              topK: trace.top_k,
              schedule: trace.patch_nums.map((pn) => [pn, pn] as const),
            });
            for (const [si, step] of plan.steps.entries()) {
              const ref = await file.tensor(`out.infer_${tag}.idx.${si}`);
              const [a, b] = [await ids(step.idx_Bl), await ids(ref)];
              expect(a.length).toBe(b.length);
              mismatches += a.filter((v, i) => v !== b[i]).length;
              ref.dispose();
            }
            tf.dispose(plan.steps.map((s) => s.idx_Bl));
          });
        } finally {
          tokenizer.dispose();
          generator.dispose();
        }
        expect(mismatches).toBeLessThanOrEqual(NEAR_TIE_ALLOWANCE);
      }, 600_000);
    }
  }
});
