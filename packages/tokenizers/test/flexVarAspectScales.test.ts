import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TensorSource } from '@nextdetail/core';
import { FlexVarTokenizer } from '../src/flexVarTokenizer.js';
import { FlexVae } from '../src/vqvae/flexVae.js';
import type { FlexVaeConfig } from '../src/vqvae/flexVaeConfig.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { normals, syntheticSource } from './helpers.js';

// FlexVarTokenizer's default schedule for other image sizes and aspect ratios: FlexVAR's schedules start at the 1×1
// class token (digest §2.6; FlexVAR §4.4 for other aspect ratios), so a rescaled schedule must too.

/** Two levels (factor 2), one block per level, a 4-wide codebook of 16 N(0, 1) rows; default schedule 1, 2, 3, 4. */
const VAE: FlexVaeConfig = { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 8, codebookEmbedDim: 4 };

function checkpoint(): TensorSource {
  const shapes = Object.fromEntries(Object.entries(FlexVae.stateDictSpec(VAE)).map(([k, p]) => [k, [...p.shape]]));
  const cnn = syntheticSource(shapes, 0.1);
  const key = 'quantize.embedding.weight';
  return {
    keys: () => [...cnn.keys(), key],
    info: (name) => (name === key ? { dtype: 'F32', shape: [16, 4] } : cnn.info(name)),
    tensor: async (name) => (name === key ? tf.tensor2d(normals(64, 9), [16, 4]) : cnn.tensor(name)),
  };
}

describe(`FlexVarTokenizer schedules for other aspect ratios [${backendName()}]`, () => {
  let tokenizer: FlexVarTokenizer;
  beforeAll(async () => {
    tokenizer = await FlexVarTokenizer.fromStateDict(checkpoint(), { vae: VAE, patchNums: [1, 2, 3, 4] });
  });
  afterAll(() => tokenizer?.dispose());

  const sizes = (imageSize: [number, number]) => tokenizer.schedule(imageSize).map((s) => s.size);

  it('keeps the configured schedule at the native size', () => {
    expect(sizes([8, 8])).toEqual([[1, 1], [2, 2], [3, 3], [4, 4]]);
  });

  it('starts at 1×1 for another aspect ratio (an 8×12 image gave a 1×2 first scale)', () => {
    expect(sizes([8, 12])).toEqual([[1, 1], [2, 3], [3, 5], [4, 6]]);
    expect(sizes([16, 8])).toEqual([[1, 1], [4, 2], [6, 3], [8, 4]]);
    expect(sizes([4, 6])).toEqual([[1, 1], [1, 2], [2, 3]]);
    expect(sizes([12, 20])).toEqual([[1, 1], [3, 5], [5, 8], [6, 10]]);
  });

  it('for every size: 1×1 first, the latent last, growing without repeats, the short side following the aspect ratio', () => {
    for (let H = 2; H <= 24; H += 2) {
      for (let W = 2; W <= 24; W += 2) {
        const [lh, lw] = [H / 2, W / 2];
        const long = Math.max(lh, lw);
        const got = sizes([H, W]);
        const at = `${H}×${W}: ${JSON.stringify(got)}`;
        expect(got[0], at).toEqual([1, 1]);
        expect(got[got.length - 1], at).toEqual([lh, lw]);
        got.forEach(([h, w], i) => {
          if (i > 0) {
            const [ph, pw] = got[i - 1]!;
            expect(h >= ph && w >= pw && (h > ph || w > pw), at).toBe(true);
          }
          const side = lh === long ? h : w;
          if (lh !== long) expect(h, at).toBe(Math.max(1, Math.round((side * lh) / long)));
          if (lw !== long) expect(w, at).toBe(Math.max(1, Math.round((side * lw) / long)));
        });
      }
    }
  });

  it('encodes an 8×12 image on that schedule by default and decodes it at its size, leak-free', async () => {
    const images_BHWC = tf.tensor4d(Float32Array.from({ length: 8 * 12 * 3 }, (_, i) => Math.sin(0.37 * i)), [1, 8, 12, 3]);
    await expectNoLeaks(async () => {
      const plan = await tokenizer.encode(images_BHWC);
      expect(plan.steps.map((s) => s.size)).toEqual(sizes([8, 12]));
      expect(plan.steps[0]!.idx_Bl.shape).toEqual([1, 1]);
      const image = tokenizer.decode(plan);
      expect(image.shape).toEqual([1, 8, 12, 3]);
      tf.dispose([image, ...plan.steps.map((s) => s.idx_Bl)]);
    });
    images_BHWC.dispose();
  });
});
