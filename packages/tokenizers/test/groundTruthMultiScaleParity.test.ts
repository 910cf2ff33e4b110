import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromTorchLayout, readSafetensorsFile, resampleWeights, type SafetensorsFile } from '@nextdetail/core/node';
import { GroundTruthMultiScaleQuantizer } from '../src/quantizer/groundTruthMultiScale.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';

// Suggested float32 tolerance for latents (shared/fixtures/README.md "Tolerances").
const ATOL = 1e-4;
const RTOL = 1e-4;
// The GT encoding has a near-tie at float32 resolution (README "Fragile spots"): one flipped id is allowed.
const MAX_ID_MISMATCHES = 1;

/** Every reference file whose metadata says it holds a FlexVAR model, opened (headers only). */
async function flexvarFixtures(): Promise<SafetensorsFile[]> {
  const files: SafetensorsFile[] = [];
  for (const path of listFixtures('reference', '.safetensors')) {
    const file = await readSafetensorsFile(path);
    if (file.metadata.kind === 'flexvar') files.push(file);
    else await file.close();
  }
  return files;
}

type Mismatch = { b: number; si: number; pn: number; position: number };

/** Where the concatenated ids differ, as (batch, scale, position inside the scale). */
async function idMismatches(actual_BL: tf.Tensor2D, expected_BL: tf.Tensor2D, pns: readonly number[]): Promise<Mismatch[]> {
  expect(actual_BL.shape).toEqual(expected_BL.shape);
  const [a, e] = await Promise.all([actual_BL.data(), expected_BL.data()]);
  const [batch, L] = expected_BL.shape;
  const found: Mismatch[] = [];
  for (let b = 0; b < batch; b++) {
    let offset = 0;
    pns.forEach((pn, si) => {
      for (let p = 0; p < pn * pn; p++) if (a[b * L + offset + p] !== e[b * L + offset + p]) found.push({ b, si, pn, position: p });
      offset += pn * pn;
    });
  }
  return found;
}

/**
 * The rows of x_BLCv_wo_first_l [B, L − first, C] that read the token of `m`: those of the next scale whose bicubic
 * support (a non-zero weight on the token's row and column) covers it. The last scale feeds no input.
 */
function dependentRows(m: Mismatch, pns: readonly number[]): Set<string> {
  const rows = new Set<string>();
  if (m.si === pns.length - 1) return rows;
  const [pn, next] = [pns[m.si]!, pns[m.si + 1]!];
  const w = resampleWeights('bicubic', pn, next);
  const [i, j] = [Math.floor(m.position / pn), m.position % pn];
  const offset = pns.slice(1, m.si + 1).reduce((s, p) => s + p * p, 0);
  for (let oi = 0; oi < next; oi++)
    for (let oj = 0; oj < next; oj++)
      if (w[oi * pn + i] !== 0 && w[oj * pn + j] !== 0) rows.add(`${m.b}:${offset + oi * next + oj}`);
  return rows;
}

/** max |a − b| and whether every element is within atol + rtol·|b|, over the rows [B, L, C] not in `skip`. */
async function compareRows(actual: tf.Tensor3D, expected: tf.Tensor3D, skip = new Set<string>()) {
  expect(actual.shape).toEqual(expected.shape);
  const [a, e] = await Promise.all([actual.data(), expected.data()]);
  const [batch, L, C] = expected.shape;
  let maxError = 0;
  let skippedMaxError = 0;
  let ok = true;
  for (let b = 0; b < batch; b++)
    for (let l = 0; l < L; l++) {
      const skipped = skip.has(`${b}:${l}`);
      for (let c = 0; c < C; c++) {
        const k = (b * L + l) * C + c;
        const d = Math.abs(a[k]! - e[k]!);
        if (skipped) skippedMaxError = Math.max(skippedMaxError, d);
        else {
          maxError = Math.max(maxError, d);
          if (!(d <= ATOL + RTOL * Math.abs(e[k]!))) ok = false;
        }
      }
    }
  return { maxError, skippedMaxError, ok };
}

/** Splits concatenated ids [B, Σ pn²] into one int32 [B, pn²] per scale. */
function splitScales(idx_BL: tf.Tensor2D, pns: readonly number[]): tf.Tensor2D[] {
  return tf.split(idx_BL, pns.map((pn) => pn * pn), 1) as tf.Tensor2D[];
}

const files = await flexvarFixtures();

describe(`ground-truth multi-scale quantizer vs the FlexVAR reference [${backendName()}]`, () => {
  it('finds at least one flexvar fixture', () => expect(files.length).toBeGreaterThan(0));
});

for (const file of files) {
  const name = basename(file.name);
  const pns = (JSON.parse(file.metadata.spec_json ?? '{}') as { train_patch_nums: number[] }).train_patch_nums;

  describe(`${name} [${backendName()}]`, () => {
    let quantizer: GroundTruthMultiScaleQuantizer;
    let h_BHWC: tf.Tensor4D;
    let gtIdx_BL: tf.Tensor2D;
    let gtIdx_Bl: tf.Tensor2D[];
    let x_BLC: tf.Tensor3D;

    beforeAll(async () => {
      quantizer = await GroundTruthMultiScaleQuantizer.fromStateDict(file);
      const h = await file.tensor('in.h');
      h_BHWC = fromTorchLayout(h, 'nchw', 'in.h') as tf.Tensor4D;
      h.dispose();
      gtIdx_BL = (await file.tensor('out.gt_idx')) as tf.Tensor2D;
      gtIdx_Bl = splitScales(gtIdx_BL, pns);
      x_BLC = (await file.tensor('out.x_BLCv_wo_first_l')) as tf.Tensor3D;
    });

    afterAll(async () => {
      quantizer?.dispose();
      tf.dispose([h_BHWC, gtIdx_BL, ...(gtIdx_Bl ?? []), x_BLC]);
      await file.close();
    });

    it(`${name}: spec_json.train_patch_nums matches the shapes of out.gt_idx and out.x_BLCv_wo_first_l`, () => {
      const L = pns.reduce((s, pn) => s + pn * pn, 0);
      expect(gtIdx_BL.shape[1]).toBe(L);
      expect(x_BLC.shape).toEqual([h_BHWC.shape[0], L - pns[0]! * pns[0]!, quantizer.cvae]);
    });

    it(`${name}: encode reproduces out.gt_idx (≤ ${MAX_ID_MISMATCHES} near-tie flip) and, through teacherForcingInput, out.x_BLCv_wo_first_l within ${ATOL} outside the rows that read a flipped id, leak-free`, async () => {
      const { found, errors, skipped } = await expectNoLeaks(async () => {
        const idx_Bl = quantizer.encode(h_BHWC, pns);
        const idx_BL = tf.concat(idx_Bl, 1);
        const x = quantizer.teacherForcingInput(idx_Bl, pns);
        const found = await idMismatches(idx_BL, gtIdx_BL, pns);
        const skipped = new Set(found.flatMap((m) => [...dependentRows(m, pns)]));
        const errors = await compareRows(x, x_BLC, skipped);
        tf.dispose([idx_Bl, idx_BL, x]);
        return { found, errors, skipped };
      });
      console.log(
        `[${backendName()}] ${name} gt_idx: ${found.length} mismatch(es) ${JSON.stringify(found)}; ` +
          `x_BLCv_wo_first_l max error ${errors.maxError} outside ${skipped.size} dependent row(s) ` +
          `(${errors.skippedMaxError} inside)`,
      );
      expect(found.length).toBeLessThanOrEqual(MAX_ID_MISMATCHES);
      expect(errors.ok, `max error ${errors.maxError}`).toBe(true);
    });

    it(`${name}: teacherForcingInput(out.gt_idx) reproduces out.x_BLCv_wo_first_l everywhere within ${ATOL}, leak-free`, async () => {
      const errors = await expectNoLeaks(async () => {
        const x = quantizer.teacherForcingInput(gtIdx_Bl, pns);
        const result = await compareRows(x, x_BLC);
        x.dispose();
        return result;
      });
      console.log(`[${backendName()}] ${name} teacherForcingInput(out.gt_idx): max error ${errors.maxError}`);
      expect(errors.ok, `max error ${errors.maxError}`).toBe(true);
    });

    it(`${name}: the rows excluded for a flipped id cover every row the flip changes (one id flipped per scale)`, async () => {
      const b = h_BHWC.shape[0] - 1;
      for (let si = 0; si < pns.length; si++) {
        const position = Math.floor((pns[si]! * pns[si]!) / 2);
        const ids = Int32Array.from(await gtIdx_Bl[si]!.data());
        ids[b * pns[si]! * pns[si]! + position] = (ids[b * pns[si]! * pns[si]! + position]! + 1) % quantizer.vocabSize;
        const flipped = tf.tensor2d(ids, gtIdx_Bl[si]!.shape, 'int32');
        const x = quantizer.teacherForcingInput(gtIdx_Bl.map((idx, n) => (n === si ? flipped : idx)), pns);
        const skip = dependentRows({ b, si, pn: pns[si]!, position }, pns);
        const errors = await compareRows(x, x_BLC, skip);
        expect(errors.ok, `scale ${si}: max error ${errors.maxError} outside ${skip.size} rows`).toBe(true);
        expect(errors.skippedMaxError > ATOL, `scale ${si}: the excluded rows changed`).toBe(si < pns.length - 1);
        tf.dispose([flipped, x]);
      }
    });

    it(`${name}: nextInput steps on out.gt_idx concatenate to out.x_BLCv_wo_first_l within ${ATOL}, leak-free`, async () => {
      const errors = await expectNoLeaks(async () => {
        const steps = pns.slice(1).map((next, n) => quantizer.nextInput(gtIdx_Bl[n]!, pns[n]!, next));
        const x = tf.concat(steps, 1);
        const result = await compareRows(x, x_BLC);
        tf.dispose([steps, x]);
        return result;
      });
      console.log(`[${backendName()}] ${name} nextInput: max error ${errors.maxError}`);
      expect(errors.ok, `max error ${errors.maxError}`).toBe(true);
    });
  });
}
