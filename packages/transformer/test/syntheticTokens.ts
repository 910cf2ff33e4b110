import * as tf from '@tensorflow/tfjs-core';
import { RandomGenerator, resampleWeights } from '@nextdetail/core';

// A small synthetic token dataset for the training tests, in the shape a tokenizer would produce (no tokenizer
// involved): one latent map per class; a scale's ids are the nearest codes of the latent area-resampled to that
// grid (FlexVAR's ground truth); the next scale's input is the bicubic upsampling of the chosen codes.

export interface SyntheticTokens {
  numClasses: number;
  vocabSize: number;
  latentChannels: number;
  /** Teacher-forcing input [B, L − 1, Cv] and targets int32 [B, L] for `labels` on the grids `sizes`. */
  batch(labels: readonly number[], sizes: ReadonlyArray<readonly [number, number]>): { input_BLCv: tf.Tensor3D; target_BL: tf.Tensor2D };
}

/** [h, w, C] row-major map resampled to [oh, ow] with core's PyTorch-exact weights. */
function resizeHost(x: Float32Array, h: number, w: number, c: number, oh: number, ow: number, mode: 'area' | 'bicubic'): Float32Array {
  const mh = resampleWeights(mode, h, oh);
  const mw = resampleWeights(mode, w, ow);
  const out = new Float32Array(oh * ow * c);
  for (let i = 0; i < oh; i++)
    for (let j = 0; j < ow; j++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) {
          const k = mh[i * h + y]! * mw[j * w + xx]!;
          if (k !== 0) for (let ch = 0; ch < c; ch++) out[(i * ow + j) * c + ch]! += k * x[(y * w + xx) * c + ch]!;
        }
  return out;
}

function normals(rng: RandomGenerator, n: number): Float32Array {
  const u = rng.uniformArray(2 * n);
  return Float32Array.from({ length: n }, (_, i) => Math.sqrt(-2 * Math.log(1 - u[2 * i]!)) * Math.cos(2 * Math.PI * u[2 * i + 1]!));
}

export function syntheticTokens(seed: number, numClasses: number, vocabSize: number, latentChannels: number, side = 8): SyntheticTokens {
  const rng = new RandomGenerator(seed);
  const C = latentChannels;
  const latents = Array.from({ length: numClasses }, () => normals(rng, side * side * C));
  const codebook = normals(rng, vocabSize * C);
  const nearest = (v: Float32Array, at: number) => {
    let best = 0;
    let bestD = Infinity;
    for (let k = 0; k < vocabSize; k++) {
      let d = 0;
      for (let ch = 0; ch < C; ch++) d += (v[at + ch]! - codebook[k * C + ch]!) ** 2;
      if (d < bestD) [best, bestD] = [k, d];
    }
    return best;
  };
  return {
    numClasses,
    vocabSize,
    latentChannels,
    batch(labels, sizes) {
      const L = sizes.reduce((a, [h, w]) => a + h * w, 0);
      const input = new Float32Array(labels.length * (L - 1) * C);
      const target = new Int32Array(labels.length * L);
      labels.forEach((label, b) => {
        let t = 0;
        let inputAt = 0;
        sizes.forEach(([h, w], si) => {
          const f = resizeHost(latents[label]!, side, side, C, h, w, 'area');
          const q = new Float32Array(h * w * C);
          for (let p = 0; p < h * w; p++) {
            const id = nearest(f, p * C);
            target[b * L + t++] = id;
            q.set(codebook.subarray(id * C, id * C + C), p * C);
          }
          const next = sizes[si + 1];
          if (next) {
            const up = resizeHost(q, h, w, C, next[0], next[1], 'bicubic');
            input.set(up, (b * (L - 1) + inputAt) * C);
            inputAt += next[0] * next[1];
          }
        });
      });
      return {
        input_BLCv: tf.tensor3d(input, [labels.length, L - 1, C]),
        target_BL: tf.tensor2d(target, [labels.length, L], 'int32'),
      };
    },
  };
}
