import { basename } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nhwcToNchw } from '@nextdetail/core';
import { readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import { VarVqvae } from '../src/vqvae/varVqvae.js';
import { varVqvaeConfigFromReference } from '../src/vqvae/varVqvaeConfig.js';
import { readNhwc } from './helpers.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { listFixtures } from '../../../test/fixtures.js';

// Parity with the reference VQVAE's CNN on every `kind: var_vqvae` fixture (shared/fixtures/README.md). Sizes come from
// the file's config_json and tensor shapes only, so the held-out twin runs through the same tests.
const ATOL = 5e-4;
const RTOL = 1e-4;

const opened = await Promise.all(listFixtures('reference', '.safetensors').map((path) => readSafetensorsFile(path)));
const fixtures = opened.filter((file) => file.metadata.kind === 'var_vqvae');
await Promise.all(opened.filter((file) => !fixtures.includes(file)).map((file) => file.close()));

/** The last scale's cumulative f̂ (`out.fhat.{si}` with the largest si): what the reference decoded. */
function lastFhatKey(file: SafetensorsFile): string {
  const scales = file.keys().flatMap((k) => /^out\.fhat\.(\d+)$/.exec(k)?.[1] ?? []).map(Number);
  return `out.fhat.${Math.max(...scales)}`;
}

/** Checks |actual − expected| ≤ ATOL + RTOL·|expected| elementwise (in the fixture's NCHW order); returns the max error. */
async function expectClose(actual_BHWC: tf.Tensor4D, file: SafetensorsFile, key: string): Promise<number> {
  const expected = await file.tensor(key);
  const actual = nhwcToNchw(actual_BHWC);
  const [a, e] = await Promise.all([actual.data(), expected.data()]);
  tf.dispose([actual, expected]);
  expect(actual.shape, key).toEqual(expected.shape);
  let maxErr = 0;
  let worstExcess = -Infinity;
  for (let i = 0; i < e.length; i++) {
    const err = Math.abs(a[i]! - e[i]!);
    maxErr = Math.max(maxErr, err);
    worstExcess = Math.max(worstExcess, err - (ATOL + RTOL * Math.abs(e[i]!)));
  }
  expect(worstExcess, `${key}: max |error| ${maxErr.toExponential(2)}`).toBeLessThanOrEqual(0);
  return maxErr;
}

describe(`VAR VQVAE CNN vs reference fixtures [${backendName()}]`, () => {
  it('finds var_vqvae fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  afterAll(() => Promise.all(fixtures.map((file) => file.close())));

  for (const file of fixtures) {
    const name = basename(file.name);
    describe(name, () => {
      let vae: VarVqvae;
      let img_BHWC: tf.Tensor4D;
      let fhat_BHWC: tf.Tensor4D;

      beforeAll(async () => {
        const { VQVAE } = JSON.parse(file.metadata.config_json ?? '{}') as { VQVAE: Record<string, unknown> };
        vae = await VarVqvae.fromStateDict(file, varVqvaeConfigFromReference(VQVAE));
        img_BHWC = await readNhwc(file, 'in.img');
        fhat_BHWC = await readNhwc(file, lastFhatKey(file));
      });
      afterAll(() => {
        vae?.dispose();
        tf.dispose([img_BHWC, fhat_BHWC]);
      });

      it(`${name}: loads every CNN tensor; the quantizer's quantize.* are reported as expected-unused`, () => {
        const quantizerKeys = file.keys().filter((k) => k.startsWith('quantize.'));
        expect(vae.report.expectedUnused).toEqual(quantizerKeys.filter((k) => k !== 'quantize.ema_vocab_hit_SV').sort());
        expect(vae.report.ignored).toEqual(quantizerKeys.filter((k) => k === 'quantize.ema_vocab_hit_SV'));
        expect(vae.report.missing).toEqual([]);
        // The fixture's inputs and outputs ride along in the same file; nothing else may be left over.
        expect(vae.report.unused.filter((k) => !/^(in|out)\./.test(k))).toEqual([]);
      });

      it(`${name}: encoderOut(in.img) matches out.encoder, leak-free`, async ({ annotate }) => {
        const maxErr = await expectNoLeaks(async () => {
          const e_BHWC = vae.encoderOut(img_BHWC);
          try {
            return await expectClose(e_BHWC, file, 'out.encoder');
          } finally {
            e_BHWC.dispose();
          }
        });
        await annotate(`out.encoder max |error| ${maxErr.toExponential(2)}`);
      });

      it(`${name}: encode(in.img) = quant_conv(encoder(·)) matches out.f, leak-free`, async ({ annotate }) => {
        const maxErr = await expectNoLeaks(async () => {
          const f_BHWC = vae.encode(img_BHWC);
          try {
            return await expectClose(f_BHWC, file, 'out.f');
          } finally {
            f_BHWC.dispose();
          }
        });
        await annotate(`out.f max |error| ${maxErr.toExponential(2)}`);
      });

      it(`${name}: decode(last out.fhat) matches out.decoder_raw, leak-free`, async ({ annotate }) => {
        const maxErr = await expectNoLeaks(async () => {
          const raw_BHWC = vae.decode(fhat_BHWC);
          try {
            return await expectClose(raw_BHWC, file, 'out.decoder_raw');
          } finally {
            raw_BHWC.dispose();
          }
        });
        await annotate(`out.decoder_raw max |error| ${maxErr.toExponential(2)}`);
      });

      it(`${name}: fhatToImage(last out.fhat) matches out.img_clamped, leak-free`, async ({ annotate }) => {
        const maxErr = await expectNoLeaks(async () => {
          const img_BHWC = vae.fhatToImage(fhat_BHWC);
          try {
            return await expectClose(img_BHWC, file, 'out.img_clamped');
          } finally {
            img_BHWC.dispose();
          }
        });
        await annotate(`out.img_clamped max |error| ${maxErr.toExponential(2)}`);
      });
    });
  }
});
