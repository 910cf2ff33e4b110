import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromTorchLayout, resize } from '@nextdetail/core';
import { readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import { VarGenerator } from '../src/varGenerator.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { expectClose, openFixtures } from './scaleHelpers.js';

// End-to-end check of the KV-cached step API on a doubled CFG batch against VAR.autoregressive_infer_cfg's greedy
// traces (`out.infer_cfg{g}.idx.{si}`, final `out.infer_cfg{g}.fhat`). The loop around the steps is written here
// from reference-digest §1.4/§1.6, with the quantizer's codebook and Phi convs read straight from the VQVAE fixture the
// trace names (the transformer package itself knows no tokenizer): guidance t = g·si/(SN−1), argmax, f̂ += Phi(…),
// next input = area(f̂).
const fixtures = await openFixtures('var_transformer');

/** Phi index per scale: argmin_k |tick_k − si/(SN−1)| with numpy's float64 linspace (reference-digest §1.4). */
function phiIndexMap(K: number, SN: number): number[] {
  const [start, stop] = K === 4 ? [1 / (3 * K), 1 - 1 / (3 * K)] : [1 / (2 * K), 1 - 1 / (2 * K)];
  const step = K > 1 ? (stop - start) / (K - 1) : 0;
  const ticks = Array.from({ length: K }, (_, k) => (k === K - 1 && K > 1 ? stop : k * step + start));
  return Array.from({ length: SN }, (_, si) => {
    const r = SN > 1 ? si / (SN - 1) : 0;
    let best = 0;
    for (let k = 1; k < K; k++) if (Math.abs(ticks[k]! - r) < Math.abs(ticks[best]! - r)) best = k;
    return best;
  });
}

describe(`VarGenerator greedy CFG traces [${backendName()}]`, () => {
  it('finds var_transformer fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  afterAll(() => Promise.all(fixtures.map((file) => file.close())));

  for (const file of fixtures) {
    const name = basename(file.name);
    const spec = JSON.parse(file.metadata.spec_json ?? '{}') as { vae_fixture: string; traces: Record<string, { cfg: number }> };
    describe(name, () => {
      let model: VarGenerator;
      let vae: SafetensorsFile;
      let codebook_VC: tf.Tensor2D;
      let phis: Array<{ w_HWIO: tf.Tensor4D; b: tf.Tensor1D }>;
      let labels: number[];

      beforeAll(async () => {
        model = await VarGenerator.fromStateDict(file);
        vae = await readSafetensorsFile(join(dirname(file.name), spec.vae_fixture));
        codebook_VC = (await vae.tensor('quantize.embedding.weight')) as tf.Tensor2D;
        const K = vae.keys().filter((k) => /^quantize\.quant_resi\.qresi_ls\.\d+\.weight$/.test(k)).length;
        phis = [];
        for (let k = 0; k < K; k++) {
          const w = await vae.tensor(`quantize.quant_resi.qresi_ls.${k}.weight`);
          phis.push({ w_HWIO: fromTorchLayout(w, 'conv2d', 'phi') as tf.Tensor4D, b: (await vae.tensor(`quantize.quant_resi.qresi_ls.${k}.bias`)) as tf.Tensor1D });
          w.dispose();
        }
        const labelT = await file.tensor('in.label');
        labels = Array.from(await labelT.data());
        labelT.dispose();
      });
      afterAll(async () => {
        model?.dispose();
        codebook_VC?.dispose();
        for (const p of phis ?? []) tf.dispose([p.w_HWIO, p.b]);
        await vae?.close();
      });

      for (const [tag, { cfg }] of Object.entries(spec.traces)) {
        it(`${name}: trace ${tag} (CFG ramp to ${cfg}) token ids exact and final f̂, leak-free`, async () => {
          const pns = model.config.patchNums;
          const SN = pns.length;
          const last = pns[SN - 1]!;
          const B = labels.length;
          const Cv = model.config.latentChannels;
          const map = phiIndexMap(phis.length, SN);
          const mismatches: string[] = [];
          await expectNoLeaks(async () => {
            const cache = model.createCache([...labels, ...labels.map(() => model.config.numClasses)]);
            let fhat = tf.zeros([B, last, last, Cv]) as tf.Tensor4D;
            let x: tf.Tensor3D | null = null;
            try {
              for (const [si, pn] of pns.entries()) {
                const logits = model.step(cache, x);
                x?.dispose();
                x = null;
                const t = (cfg * si) / (SN - 1);
                const idx = tf.tidy(() => {
                  const [cond, uncond] = tf.split(logits, 2, 0) as [tf.Tensor, tf.Tensor];
                  return tf.argMax(tf.sub(tf.mul(cond, 1 + t), tf.mul(uncond, t)), -1);
                });
                logits.dispose();
                const ours = Array.from(await idx.data());
                idx.dispose();
                const refT = await file.tensor(`out.infer_${tag}.idx.${si}`);
                const ref = Array.from(await refT.data());
                refT.dispose();
                const wrong = ours.filter((v, i) => v !== ref[i]).length;
                if (wrong > 0) mismatches.push(`step ${si}: ${wrong}`);
                const refIdx = tf.tensor2d(ref, [B, pn * pn], 'int32');
                const next = pns[si + 1];
                const newFhat = tf.tidy(() => {
                  let h = tf.reshape(tf.gather(codebook_VC, refIdx), [B, pn, pn, Cv]) as tf.Tensor4D;
                  if (si !== SN - 1) h = resize(h, [last, last], 'bicubic');
                  const phi = phis[map[si]!]!;
                  const conv = tf.add(tf.conv2d(h, phi.w_HWIO, 1, 'same'), phi.b);
                  return tf.add(fhat, tf.add(tf.mul(h, 0.5), tf.mul(conv, 0.5))) as tf.Tensor4D;
                });
                const newX =
                  next === undefined
                    ? null
                    : tf.tidy(() => {
                        const down = tf.reshape(resize(newFhat, [next, next], 'area'), [B, next * next, Cv]);
                        return tf.concat([down, down], 0) as tf.Tensor3D;
                      });
                refIdx.dispose();
                fhat.dispose();
                fhat = newFhat;
                x = newX;
              }
              const want = await file.tensor(`out.infer_${tag}.fhat`);
              const fhatNchw = tf.transpose(fhat, [0, 3, 1, 2]);
              try {
                await expectClose(fhatNchw, want, `out.infer_${tag}.fhat`);
              } finally {
                tf.dispose([want, fhatNchw]);
              }
            } finally {
              x?.dispose();
              fhat.dispose();
              cache.dispose();
            }
          });
          expect(mismatches, 'token mismatches per step').toEqual([]);
        });
      }
    });
  }
});
