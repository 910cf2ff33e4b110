import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromTorchLayout, readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import { GranularityQuantizer } from '../src/quantizer/granularityQuantizer.js';
import { structureBits, structureLabels } from '../src/quantizer/structureBits.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';

// Suggested float32 tolerance for latents (shared/fixtures/README.md "Tolerances").
const ATOL = 1e-4;
const RTOL = 1e-4;

/** Every reference file whose metadata says it holds an NVG model, opened (headers only). */
async function nvgFixtures(): Promise<SafetensorsFile[]> {
  const files: SafetensorsFile[] = [];
  for (const path of listFixtures('reference', '.safetensors')) {
    const file = await readSafetensorsFile(path);
    if (file.metadata.kind === 'nvg') files.push(file);
    else await file.close();
  }
  return files;
}

/** I64 tensors arrive as int32 or float32 depending on the reader; the comparisons want int32. */
async function int32Tensor(file: SafetensorsFile, key: string): Promise<tf.Tensor> {
  const t = await file.tensor(key);
  if (t.dtype === 'int32') return t;
  const cast = tf.cast(t, 'int32');
  t.dispose();
  return cast;
}

/** Flat indices where two integer tensors differ. */
async function mismatches(actual: tf.Tensor, expected: tf.Tensor): Promise<number[]> {
  expect(actual.shape).toEqual(expected.shape);
  const [a, e] = await Promise.all([actual.data(), expected.data()]);
  const found: number[] = [];
  for (let k = 0; k < e.length; k++) if (a[k] !== e[k]) found.push(k);
  return found;
}

/** max |a − b| and whether every element is within atol + rtol·|b|. */
async function compare(actual: tf.Tensor, expected: tf.Tensor): Promise<{ maxError: number; ok: boolean }> {
  expect(actual.shape).toEqual(expected.shape);
  const [a, e] = await Promise.all([actual.data(), expected.data()]);
  let maxError = 0;
  let ok = true;
  for (let k = 0; k < e.length; k++) {
    const d = Math.abs(a[k]! - e[k]!);
    maxError = Math.max(maxError, d);
    if (!(d <= ATOL + RTOL * Math.abs(e[k]!))) ok = false;
  }
  return { maxError, ok };
}

/** "(b, s, p)" of a flat index into [B, S, P]. */
function where3(k: number, [, s, p]: readonly number[]): string {
  return `(${Math.floor(k / (s! * p!))}, ${Math.floor(k / p!) % s!}, ${k % p!})`;
}

const files = await nvgFixtures();

describe(`granularity quantizer vs the NVG reference [${backendName()}]`, () => {
  it('finds at least one nvg fixture', () => expect(files.length).toBeGreaterThan(0));
});

for (const file of files) {
  const name = basename(file.name);

  describe(`${name} [${backendName()}]`, () => {
    let quantizer: GranularityQuantizer;
    let f_BHWC: tf.Tensor4D;
    let labels_BSP: tf.Tensor3D;
    let tokens_BSP: tf.Tensor3D;
    let nvgInput_BSPC: tf.Tensor4D;

    beforeAll(async () => {
      quantizer = await GranularityQuantizer.fromStateDict(file);
      const f = await file.tensor('in.f');
      f_BHWC = fromTorchLayout(f, 'nchw', 'in.f') as tf.Tensor4D;
      f.dispose();
      labels_BSP = (await int32Tensor(file, 'out.labels')) as tf.Tensor3D;
      tokens_BSP = (await int32Tensor(file, 'out.tokens')) as tf.Tensor3D;
      nvgInput_BSPC = (await file.tensor('out.nvg_input')) as tf.Tensor4D;
    });

    afterAll(async () => {
      quantizer?.dispose();
      tf.dispose([f_BHWC, labels_BSP, tokens_BSP, nvgInput_BSPC]);
      await file.close();
    });

    it(`${name}: the checkpoint's stage count and the shapes of in.f and out.* agree`, () => {
      const [b, h, w, c] = f_BHWC.shape;
      expect(c).toBe(quantizer.cvae);
      expect(h * w).toBe(2 ** (quantizer.stages - 1));
      expect(labels_BSP.shape).toEqual([b, quantizer.stages, h * w]);
      expect(nvgInput_BSPC.shape).toEqual([b, quantizer.stages, h * w, c + 2]);
    });

    it(`${name}: cluster reproduces out.labels exactly, leak-free`, async () => {
      const found = await expectNoLeaks(async () => {
        const labels = await quantizer.cluster(f_BHWC);
        const result = await mismatches(labels, labels_BSP);
        labels.dispose();
        return result;
      });
      console.log(
        `[${backendName()}] ${name} labels: ${found.length} mismatch(es) at (b, s, p) ` +
          found.slice(0, 20).map((k) => where3(k, labels_BSP.shape)).join(' '),
      );
      expect(found.length).toBe(0);
    });

    it(`${name}: encode reproduces out.tokens exactly and out.fhat_final within ${ATOL}, leak-free`, async () => {
      const { found, errors } = await expectNoLeaks(async () => {
        const encoding = await quantizer.encode(f_BHWC);
        const expected_BPC = await file.tensor('out.fhat_final');
        const fhat_BPC = tf.reshape(encoding.fhat_BHWC, expected_BPC.shape);
        const found = await mismatches(encoding.tokens_BSP, tokens_BSP);
        const errors = await compare(fhat_BPC, expected_BPC);
        tf.dispose([encoding, expected_BPC, fhat_BPC]);
        return { found, errors };
      });
      console.log(`[${backendName()}] ${name} tokens: ${found.length} mismatch(es); fhat_final max error ${errors.maxError}`);
      expect(found.length).toBe(0);
      expect(errors.ok, `max error ${errors.maxError}`).toBe(true);
    });

    it(`${name}: encode with out.labels supplied reproduces out.tokens exactly, leak-free`, async () => {
      const found = await expectNoLeaks(async () => {
        const encoding = await quantizer.encode(f_BHWC, { labels_BSP });
        const result = await mismatches(encoding.tokens_BSP, tokens_BSP);
        tf.dispose(encoding);
        return result;
      });
      expect(found.length).toBe(0);
    });

    it(`${name}: trainingInput(out.tokens, out.labels) reproduces out.nvg_input (canvas within ${ATOL}, ids and labels exactly), leak-free`, async () => {
      const { canvas, ids } = await expectNoLeaks(async () => {
        const input = quantizer.trainingInput(tokens_BSP, labels_BSP);
        const c = quantizer.cvae;
        const [actualCanvas, actualIds] = tf.split(input, [c, 2], 3);
        const [expectedCanvas, expectedIds] = tf.split(nvgInput_BSPC, [c, 2], 3);
        const result = { canvas: await compare(actualCanvas!, expectedCanvas!), ids: await mismatches(actualIds!, expectedIds!) };
        tf.dispose([input, actualCanvas!, actualIds!, expectedCanvas!, expectedIds!]);
        return result;
      });
      console.log(`[${backendName()}] ${name} nvg_input: canvas max error ${canvas.maxError}; ${ids.length} id/label mismatch(es)`);
      expect(ids.length).toBe(0);
      expect(canvas.ok, `max error ${canvas.maxError}`).toBe(true);
    });

    it(`${name}: tokensToFhat(out.tokens) reproduces out.fhat_from_tokens within ${ATOL}, leak-free`, async () => {
      const errors = await expectNoLeaks(async () => {
        const expected = await file.tensor('out.fhat_from_tokens');
        const [, , h, w] = expected.shape as [number, number, number, number];
        const fhat_BHWC = quantizer.tokensToFhat(tokens_BSP, [h, w]);
        const expected_BHWC = fromTorchLayout(expected, 'nchw', 'out.fhat_from_tokens');
        const result = await compare(fhat_BHWC, expected_BHWC);
        tf.dispose([expected, fhat_BHWC, expected_BHWC]);
        return result;
      });
      console.log(`[${backendName()}] ${name} fhat_from_tokens: max error ${errors.maxError}`);
      expect(errors.ok, `max error ${errors.maxError}`).toBe(true);
    });

    it(`${name}: structureBits(out.labels) reproduces every out.structure_feat.{s} exactly and structureLabels inverts it, leak-free`, async () => {
      const stages = file.keys().flatMap((k) => (/^out\.structure_feat\.(\d+)$/.exec(k) ? [Number(k.split('.')[2])] : []));
      expect(stages.length).toBeGreaterThan(0);
      for (const s of stages) {
        const { bits, inverse } = await expectNoLeaks(async () => {
          const expected_BPW = await int32Tensor(file, `out.structure_feat.${s}`);
          const label_BP = tf.tidy(() => tf.squeeze(tf.slice(labels_BSP, [0, s, 0], [-1, 1, -1]), [1]) as tf.Tensor2D);
          const bits_BPW = await structureBits(label_BP, s, expected_BPW.shape[2]!);
          const back_BP = await structureLabels(bits_BPW, s);
          const result = { bits: await mismatches(bits_BPW, expected_BPW), inverse: await mismatches(back_BP, label_BP) };
          tf.dispose([expected_BPW, label_BP, bits_BPW, back_BP]);
          return result;
        });
        expect(bits.length, `stage ${s}`).toBe(0);
        expect(inverse.length, `stage ${s}`).toBe(0);
      }
    });
  });
}
