import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { fromTorchLayout, type InvalidArgumentError, resampleWeights, type TensorSource } from '@nextdetail/core';
import type { SafetensorsFile } from '@nextdetail/core/node';
import type { Tokenizer } from '../src/tokenizer.js';
import type { VarTokenizerConfig } from '../src/varTokenizer.js';
import { expectNoLeaks } from '../../../test/backend.js';
import { VarVqvae } from '../src/vqvae/varVqvae.js';
import { NvgAutoencoder } from '../src/vqvae/nvgAutoencoder.js';
import type { NvgAutoencoderConfig } from '../src/vqvae/nvgAutoencoderConfig.js';
export { thrown } from '../../../test/errors.js';

/** Checks that `promise` rejects with an error of `type` naming `argument`. */
export async function rejects(promise: Promise<unknown>, type: typeof InvalidArgumentError, argument: string): Promise<void> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(type);
  expect((error as InvalidArgumentError).argument).toBe(argument);
}

// Test helpers shared by the tokenizer tests: deterministic values and in-memory checkpoints.

/** Deterministic N(0, 1) samples (mulberry32 + Box–Muller), rounded to float32 like the tensors that hold them. */
export function normals(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

export type RawTensor = { shape: number[]; data: ArrayLike<number> };

/** An in-memory checkpoint in PyTorch layout. */
export function memorySource(tensors: Record<string, RawTensor>): TensorSource {
  return {
    keys: () => Object.keys(tensors),
    info: (name) => ({ dtype: 'F32', shape: tensors[name]!.shape }),
    tensor: async (name) => tf.tensor(Float32Array.from(tensors[name]!.data), tensors[name]!.shape),
  };
}

/**
 * A checkpoint of the given shapes with small deterministic weights (a sinusoid seeded by the name), norm weights
 * around 1 so that GroupNorm keeps the signal.
 */
export function syntheticSource(shapes: Record<string, number[]>, amplitude = 0.05): TensorSource {
  return {
    keys: () => Object.keys(shapes),
    info: (name) => ({ dtype: 'F32', shape: shapes[name]! }),
    tensor: async (name) => {
      const shape = shapes[name]!;
      const base = /norm.*\.weight$/.test(name) ? 1 : 0;
      const seed = [...name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) % 997, 7);
      const size = shape.reduce((a, b) => a * b, 1);
      return tf.tensor(Float32Array.from({ length: size }, (_, i) => base + amplitude * Math.sin(1.37 * i + seed)), shape);
    },
  };
}

/** A tensor of a reference fixture (PyTorch NCHW) in NHWC. */
export async function readNhwc(file: SafetensorsFile, key: string): Promise<tf.Tensor4D> {
  const nchw = await file.tensor(key);
  try {
    return fromTorchLayout(nchw, 'nchw', key) as tf.Tensor4D;
  } finally {
    nchw.dispose();
  }
}

/** An NHWC map in float64 for the plain references written from the digest: one flat array, row-major. */
export interface Map64 { b: number; h: number; w: number; c: number; data: Float64Array }

/** area/bicubic resampling in float64 with core's weight matrices. */
export function resize64(x: Map64, oh: number, ow: number, mode: 'area' | 'bicubic'): Map64 {
  const mh = resampleWeights(mode, x.h, oh);
  const mw = resampleWeights(mode, x.w, ow);
  const out = new Float64Array(x.b * oh * ow * x.c);
  for (let b = 0; b < x.b; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let y = 0; y < x.h; y++)
          for (let xx = 0; xx < x.w; xx++) {
            const k = mh[i * x.h + y]! * mw[j * x.w + xx]!;
            if (k === 0) continue;
            for (let c = 0; c < x.c; c++) out[((b * oh + i) * ow + j) * x.c + c]! += k * x.data[((b * x.h + y) * x.w + xx) * x.c + c]!;
          }
  return { b: x.b, h: oh, w: ow, c: x.c, data: out };
}


/** max |a − b| of two tensors of the same shape. */
export async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

/** Two levels (factor 2), one block per level, z 4: milliseconds on any backend. */
export const TINY_VAR_TOKENIZER: VarTokenizerConfig = {
  vae: { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 4, vocabSize: 16 },
  quantizer: { vocabSize: 16, cvae: 4, patchNums: [1, 2, [3, 2], 4], quantResi: 0.5, shareQuantResi: 4 },
};

/** The VQVAE of TINY_VAR_TOKENIZER with smooth synthetic CNN weights, an N(0, 1) codebook and small Phi convolutions. */
export function tinyVarTokenizerSource(): TensorSource {
  const shapes: Record<string, number[]> = Object.fromEntries(
    Object.entries(VarVqvae.stateDictSpec(TINY_VAR_TOKENIZER.vae)).map(([k, p]) => [k, [...p.shape]]),
  );
  for (let k = 0; k < 4; k++) {
    shapes[`quantize.quant_resi.qresi_ls.${k}.weight`] = [4, 4, 3, 3];
    shapes[`quantize.quant_resi.qresi_ls.${k}.bias`] = [4];
  }
  const cnn = syntheticSource(shapes, 0.1);
  return {
    keys: () => [...cnn.keys(), 'quantize.embedding.weight'],
    info: (name) => (name === 'quantize.embedding.weight' ? { dtype: 'F32', shape: [16, 4] } : cnn.info(name)),
    tensor: async (name) => (name === 'quantize.embedding.weight' ? tf.tensor2d(normals(64, 5), [16, 4]) : cnn.tensor(name)),
  };
}

/**
 * `preview` on every prefix of the images' plan: the complete plan previews as its decoded image; shorter prefixes
 * give finite images of the batch (FlexVAR's at their last scale's size); an empty plan is refused. Leak-free.
 */
export async function expectPreviews(tokenizer: Tokenizer, img_BHWC: tf.Tensor4D): Promise<void> {
  const plan = await tokenizer.encode(img_BHWC);
  const full = tokenizer.decode(plan);
  try {
    await expectNoLeaks(async () => {
      const complete = tokenizer.preview(plan);
      expect(await maxAbsDiff(complete, full)).toBe(0);
      complete.dispose();
      for (let k = 1; k < plan.steps.length; k++) {
        const partial = tokenizer.preview({ steps: plan.steps.slice(0, k) });
        expect([partial.shape[0], partial.shape[3]]).toEqual([full.shape[0], 3]);
        if (tokenizer.family !== 'flexvar') expect(partial.shape).toEqual(full.shape);
        expect(Array.from(await partial.data()).every(Number.isFinite)).toBe(true);
        partial.dispose();
      }
      expect(() => tokenizer.preview({ steps: [] })).toThrow(/plan/);
    });
  } finally {
    tf.dispose([plan.steps.map((s) => s.idx_Bl), full]);
  }
}

/** A checkpoint with the CNN of `vae` (smooth synthetic weights) and every `quantize.*` tensor of `quantizer`. */
export function nvgTokenizerSource(vae: NvgAutoencoderConfig, quantizer: TensorSource): TensorSource {
  const shapes = Object.fromEntries(Object.entries(NvgAutoencoder.stateDictSpec(vae)).map(([k, p]) => [k, [...p.shape]]));
  const cnn = syntheticSource(shapes, 0.1);
  const own = quantizer.keys().filter((k) => k.startsWith('quantize.'));
  const ours = new Set(own);
  return {
    keys: () => [...cnn.keys(), ...own],
    info: (name) => (ours.has(name) ? quantizer.info(name) : cnn.info(name)),
    tensor: (name) => (ours.has(name) ? quantizer.tensor(name) : cnn.tensor(name)),
  };
}

/** NVG quantizer tensors for `stages` stages: a 4-wide codebook of 16 N(0, 1) rows and small stage convolutions. */
export function tinyNvgQuantizerSource(stages: number): TensorSource {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {
    'quantize.embedding.weight': { shape: [16, 4], data: normals(64, 3) },
  };
  for (let s = 0; s < stages; s++) {
    tensors[`quantize.quant_resi.${s}.weight`] = { shape: [4, 4, 3, 3], data: normals(144, 10 + s).map((x) => 0.1 * x) };
    tensors[`quantize.quant_resi.${s}.bias`] = { shape: [4], data: normals(4, 30 + s).map((x) => 0.1 * x) };
  }
  return {
    keys: () => Object.keys(tensors),
    info: (name) => ({ dtype: 'F32', shape: tensors[name]!.shape }),
    tensor: async (name) => tf.tensor(tensors[name]!.data, tensors[name]!.shape),
  };
}
