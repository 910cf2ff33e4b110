import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromTorchLayout, readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import { MultiScaleResidualQuantizer } from '../src/quantizer/multiScaleResidual.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';

// Suggested float32 tolerance for f̂ and latents (shared/fixtures/README.md "Tolerances").
const ATOL = 1e-4;
const RTOL = 1e-4;

/** Every reference file whose metadata says it holds a VAR VQVAE, opened (headers only). */
async function varVqvaeFixtures(): Promise<SafetensorsFile[]> {
  const files: SafetensorsFile[] = [];
  for (const path of listFixtures('reference', '.safetensors')) {
    const file = await readSafetensorsFile(path);
    if (file.metadata.kind === 'var_vqvae') files.push(file);
    else await file.close();
  }
  return files;
}

/** Sizes and settings from shapes and `config_json`, never from the file name. */
function describeFixture(file: SafetensorsFile) {
  const scaleKeys = file
    .keys()
    .filter((k) => /^out\.idx\.\d+$/.test(k))
    .sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)));
  const patchNums = scaleKeys.map((k) => Math.round(Math.sqrt(file.info(k).shape[1]!)));
  const [vocabSize, cvae] = file.info('quantize.embedding.weight').shape as [number, number];
  const vqvae = (JSON.parse(file.metadata.config_json ?? '{}') as { VQVAE: Record<string, unknown> }).VQVAE;
  const phiKeys = file.keys().filter((k) => /^quantize\.quant_resi\.(qresi_ls\.\d+|\d+|qresi)\.weight$/.test(k));
  return {
    patchNums,
    vocabSize,
    cvae,
    // VQVAE's defaults where config_json leaves an argument out.
    quantResi: (vqvae.quant_resi as number | undefined) ?? 0.5,
    shareQuantResi: (vqvae.share_quant_resi as number | undefined) ?? 4,
    usingZnorm: (vqvae.using_znorm as boolean | undefined) ?? false,
    phiKeyCount: phiKeys.length,
  };
}

/** max |a − b| over all elements, and whether every element is within atol + rtol·|b|. */
async function compare(actual: tf.Tensor, expected: tf.Tensor): Promise<{ maxError: number; ok: boolean }> {
  expect(actual.shape).toEqual(expected.shape);
  const [a, b] = await Promise.all([actual.data(), expected.data()]);
  let maxError = 0;
  let ok = true;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    maxError = Math.max(maxError, d);
    if (!(d <= ATOL + RTOL * Math.abs(b[i]!))) ok = false;
  }
  return { maxError, ok };
}

async function mismatches(actual: tf.Tensor, expected: tf.Tensor): Promise<number> {
  expect(actual.shape).toEqual(expected.shape);
  const [a, b] = await Promise.all([actual.data(), expected.data()]);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

const files = await varVqvaeFixtures();

describe(`multi-scale residual quantizer vs the VAR reference [${backendName()}]`, () => {
  it('finds at least one var_vqvae fixture', () => expect(files.length).toBeGreaterThan(0));
});

for (const file of files) {
  const name = basename(file.name);
  const fx = describeFixture(file);
  const SN = fx.patchNums.length;

  describe(`${name} [${backendName()}]`, () => {
    let quantizer: MultiScaleResidualQuantizer;
    let f_BHWC: tf.Tensor4D;
    let idx_Bl: tf.Tensor2D[];
    let fhat_BHWC: tf.Tensor4D[];
    let varInput_BLC: tf.Tensor3D;

    beforeAll(async () => {
      quantizer = await MultiScaleResidualQuantizer.fromStateDict(file, {
        vocabSize: fx.vocabSize,
        cvae: fx.cvae,
        patchNums: fx.patchNums,
        quantResi: fx.quantResi,
        shareQuantResi: fx.shareQuantResi,
      });
      const nhwc = async (key: string) => {
        const t = await file.tensor(key);
        const out = fromTorchLayout(t, 'nchw', key) as tf.Tensor4D;
        t.dispose();
        return out;
      };
      f_BHWC = await nhwc('out.f');
      idx_Bl = await Promise.all(fx.patchNums.map((_, si) => file.tensor(`out.idx.${si}`) as Promise<tf.Tensor2D>));
      fhat_BHWC = await Promise.all(fx.patchNums.map((_, si) => nhwc(`out.fhat.${si}`)));
      varInput_BLC = (await file.tensor('out.var_input')) as tf.Tensor3D;
    });

    afterAll(async () => {
      quantizer?.dispose();
      tf.dispose([f_BHWC, ...(idx_Bl ?? []), ...(fhat_BHWC ?? []), varInput_BLC]);
      await file.close();
    });

    it(`${name}: its settings (from config_json and shapes) are ones the quantizer supports`, () => {
      console.log(`[${backendName()}] ${name} settings: ${JSON.stringify(fx)}`);
      expect(fx.usingZnorm).toBe(false);
      const expectedPhis = Math.abs(fx.quantResi) <= 1e-6 ? 0 : fx.shareQuantResi === 0 ? SN : fx.shareQuantResi;
      expect(fx.phiKeyCount).toBe(expectedPhis);
      expect(fx.patchNums.at(-1)).toBe(f_BHWC.shape[1]);
    });

    it(`${name}: encode reproduces every out.idx.{si} exactly and out.fhat.{si} within ${ATOL}, leak-free`, async () => {
      const errors = await expectNoLeaks(async () => {
        const enc = quantizer.encode(f_BHWC, fx.patchNums, { withFhat: true });
        const idsOnly = quantizer.encode(f_BHWC);
        const result = [];
        for (let si = 0; si < SN; si++) {
          const { maxError, ok } = await compare(enc.fhat_BHWC![si]!, fhat_BHWC[si]!);
          result.push({
            si,
            idMismatches: await mismatches(enc.idx_Bl[si]!, idx_Bl[si]!),
            withoutFhat: await mismatches(idsOnly.idx_Bl[si]!, idx_Bl[si]!),
            maxError,
            ok,
          });
        }
        tf.dispose([enc, idsOnly]);
        return result;
      });
      console.log(`[${backendName()}] ${name} encode: ${JSON.stringify(errors)}`);
      for (const e of errors) {
        expect(e.idMismatches, `out.idx.${e.si}`).toBe(0);
        expect(e.withoutFhat, `out.idx.${e.si} (ids only)`).toBe(0);
        expect(e.ok, `out.fhat.${e.si}: max error ${e.maxError}`).toBe(true);
      }
    });

    it(`${name}: teacherForcingInput(out.idx.*) reproduces out.var_input within ${ATOL}, leak-free`, async () => {
      const { maxError, ok } = await expectNoLeaks(async () => {
        const x_BLC = quantizer.teacherForcingInput(idx_Bl);
        const result = await compare(x_BLC, varInput_BLC);
        x_BLC.dispose();
        return result;
      });
      console.log(`[${backendName()}] ${name} var_input: max error ${maxError}`);
      expect(ok, `max error ${maxError}`).toBe(true);
    });

    it(`${name}: idxToFhat(out.idx.*) reproduces out.fhat.${SN - 1}, leak-free`, async () => {
      const { maxError, ok } = await expectNoLeaks(async () => {
        const fhat = quantizer.idxToFhat(idx_Bl);
        const result = await compare(fhat, fhat_BHWC[SN - 1]!);
        fhat.dispose();
        return result;
      });
      console.log(`[${backendName()}] ${name} idxToFhat: max error ${maxError}`);
      expect(ok, `max error ${maxError}`).toBe(true);
    });

    it(`${name}: nextInput steps on E[out.idx.si] rebuild out.var_input and every out.fhat.{si}, leak-free`, async () => {
      const errors = await expectNoLeaks(async () => {
        let fhat = tf.zerosLike(f_BHWC);
        const nexts: tf.Tensor[] = [];
        const result: number[] = [];
        for (let si = 0; si < SN; si++) {
          const h_BhwC = quantizer.embed(idx_Bl[si]!, fx.patchNums[si]!);
          const step = quantizer.nextInput(si, fhat, h_BhwC);
          tf.dispose([fhat, h_BhwC]);
          fhat = step.fhat_BHWC;
          const { maxError, ok } = await compare(fhat, fhat_BHWC[si]!);
          expect(ok, `f̂ after scale ${si}: max error ${maxError}`).toBe(true);
          result.push(maxError);
          if (si < SN - 1) nexts.push(tf.reshape(step.next_BhwC, [f_BHWC.shape[0], -1, fx.cvae]));
          else expect(await compare(step.next_BhwC, fhat)).toEqual({ maxError: 0, ok: true });
          step.next_BhwC.dispose();
        }
        const x_BLC = tf.concat(nexts, 1);
        const { maxError, ok } = await compare(x_BLC, varInput_BLC);
        expect(ok, `var_input: max error ${maxError}`).toBe(true);
        result.push(maxError);
        tf.dispose([fhat, x_BLC, ...nexts]);
        return result;
      });
      console.log(`[${backendName()}] ${name} nextInput: f̂ per scale and var_input max errors ${JSON.stringify(errors)}`);
    });
  });
}
