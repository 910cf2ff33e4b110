import { basename } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resize } from '@nextdetail/core';
import { FlexVarGenerator } from '../src/flexVarGenerator.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { openFixtures } from './scaleHelpers.js';

// End-to-end check of the KV-cached step API on a doubled CFG batch against FlexVAR.autoregressive_infer_cfg's greedy
// traces (`out.infer_{tag}.idx.{si}`). The loop around the steps is written here from reference-digest §2.4 (that
// loop belongs to the samplers): guidance per trace mode, argmax, next input = bicubic(normalize(E)[idx]) to the next
// grid. Trace steps listed as float32 near-ties in the fixture README may differ in ≤ 2 tokens.
const PREFIX = 'flexvar.';
const NEAR_TIE_ALLOWANCE = 2;
// The 512 px trace (L = 2240 with a doubled batch) takes minutes on the cpu backend.
const LONG = 900_000;
const fixtures = await openFixtures('flexvar');

interface Trace {
  patch_nums: number[];
  cfg: number;
  cfg_mode: 'var_ramp' | 'plain';
  max_pn: number;
  top_k: number;
}

/** Guided logits of the conditional rows from the doubled batch [2B, l, V]. */
function guide(logits_2BlV: tf.Tensor3D, trace: Trace, si: number, pn: number): tf.Tensor3D {
  return tf.tidy(() => {
    const B = logits_2BlV.shape[0] / 2;
    const [cond, uncond] = tf.split(logits_2BlV, [B, B], 0) as [tf.Tensor3D, tf.Tensor3D];
    if (trace.cfg_mode === 'plain') return tf.add(uncond, tf.mul(tf.sub(cond, uncond), trace.cfg));
    const ratio = si / Math.min(trace.patch_nums.length - 1, 9);
    const t = pn <= trace.max_pn ? trace.cfg * ratio : trace.cfg;
    return tf.sub(tf.mul(cond, 1 + t), tf.mul(uncond, t));
  });
}

describe(`FlexVarGenerator greedy CFG traces [${backendName()}]`, () => {
  it('finds flexvar fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  afterAll(() => Promise.all(fixtures.map((file) => file.close())));

  for (const file of fixtures) {
    const name = basename(file.name);
    const traces = (JSON.parse(file.metadata.spec_json ?? '{}') as { traces: Record<string, Trace> }).traces;
    describe(name, () => {
      let model: FlexVarGenerator;
      let codebook_VC: tf.Tensor2D;
      let labels: number[];

      beforeAll(async () => {
        model = await FlexVarGenerator.fromStateDict(file, undefined, { prefix: PREFIX });
        const raw = (await file.tensor('quantize.embedding.weight')) as tf.Tensor2D;
        codebook_VC = tf.tidy(() => tf.div(raw, tf.maximum(tf.norm(raw, 'euclidean', 1, true), 1e-12)));
        raw.dispose();
        const labelT = await file.tensor('in.label');
        labels = Array.from(await labelT.data());
        labelT.dispose();
      });
      afterAll(() => {
        model?.dispose();
        codebook_VC?.dispose();
      });

      for (const [tag, trace] of Object.entries(traces)) {
        it(`${name}: trace ${tag} (${trace.cfg_mode} cfg ${trace.cfg}, [${trace.patch_nums.join(',')}]) token ids, leak-free`, async () => {
          const B = labels.length;
          const Cv = model.config.latentChannels;
          const mismatches: string[] = [];
          await expectNoLeaks(async () => {
            const cache = model.createCache([...labels, ...labels.map(() => model.config.numClasses)], trace.patch_nums);
            let x: tf.Tensor3D | null = null;
            try {
              for (const [si, pn] of trace.patch_nums.entries()) {
                const logits = model.step(cache, x);
                x?.dispose();
                x = null;
                const guided = guide(logits, trace, si, pn);
                const idx_Bl = tf.argMax(guided, -1) as tf.Tensor2D;
                logits.dispose();
                guided.dispose();
                const ours = Array.from(await idx_Bl.data());
                const refT = await file.tensor(`out.infer_${tag}.idx.${si}`);
                const ref = Array.from(await refT.data());
                refT.dispose();
                const wrong = ours.filter((v, i) => v !== ref[i]).length;
                if (wrong > 0) mismatches.push(`step ${si} (pn ${pn}): ${wrong}`);
                const next = trace.patch_nums[si + 1];
                if (next !== undefined) {
                  // The reference feeds its own (recorded) choice forward, so a near-tie flip stays local.
                  const refIdx = tf.tensor2d(ref, [B, pn * pn], 'int32');
                  x = tf.tidy(() => {
                    const q_BhwC = tf.reshape(tf.gather(codebook_VC, refIdx), [B, pn, pn, Cv]) as tf.Tensor4D;
                    const up = tf.reshape(resize(q_BhwC, [next, next], 'bicubic'), [B, next * next, Cv]);
                    return tf.concat([up, up], 0) as tf.Tensor3D;
                  });
                  refIdx.dispose();
                }
                idx_Bl.dispose();
              }
            } finally {
              x?.dispose();
              cache.dispose();
            }
          });
          const total = mismatches.reduce((a, m) => a + Number(m.split(': ')[1]), 0);
          expect(total, mismatches.join('; ')).toBeLessThanOrEqual(mismatches.length === 0 ? 0 : NEAR_TIE_ALLOWANCE);
        }, LONG);
      }
    });
  }
});
