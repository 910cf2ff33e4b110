import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DTypeError, InvalidArgumentError, ShapeError } from '@nextdetail/core';
import { MultiScaleResidualQuantizer, type MultiScaleResidualQuantizerConfig } from '../src/quantizer/multiScaleResidual.js';
import { nearestCode } from '../src/quantizer/nearestCode.js';
import { phiIndexMap } from '../src/quantizer/phi.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { type Map64, memorySource, normals, type RawTensor, resize64 } from './helpers.js';

function scaled(x: Float32Array, k: number): Float32Array {
  return x.map((v) => v * k);
}

async function load(tensors: Record<string, RawTensor>, config: MultiScaleResidualQuantizerConfig) {
  return MultiScaleResidualQuantizer.fromStateDict(memorySource(tensors), config);
}

/** Codebook and Phi convolutions in PyTorch layout under `quantize.`. */
function checkpoint(v: number, c: number, phiModules: string[], seed: number): Record<string, RawTensor> {
  const tensors: Record<string, RawTensor> = { 'quantize.embedding.weight': { shape: [v, c], data: normals(v * c, seed) } };
  phiModules.forEach((m, k) => {
    tensors[`quantize.${m}.weight`] = { shape: [c, c, 3, 3], data: scaled(normals(c * c * 9, seed + 1 + k), 0.2) };
    tensors[`quantize.${m}.bias`] = { shape: [c], data: scaled(normals(c, seed + 101 + k), 0.2) };
  });
  return tensors;
}

// ---- A float64 reference written from the digest (NHWC, one flat array per map), for non-square schedules. ----

function phi64(x: Map64, weight_OIHW: ArrayLike<number>, bias: ArrayLike<number>, r: number): Map64 {
  const { b: B, h: H, w: W, c: C } = x;
  const out = new Float64Array(x.data.length);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++)
        for (let o = 0; o < C; o++) {
          let acc = bias[o]!;
          for (let dy = -1; dy <= 1; dy++)
            for (let dx = -1; dx <= 1; dx++) {
              if (y + dy < 0 || y + dy >= H || xx + dx < 0 || xx + dx >= W) continue;
              for (let i = 0; i < C; i++) acc += weight_OIHW[((o * C + i) * 3 + dy + 1) * 3 + dx + 1]! * x.data[((b * H + y + dy) * W + xx + dx) * C + i]!;
            }
          const at = ((b * H + y) * W + xx) * C + o;
          out[at] = (1 - r) * x.data[at]! + r * acc;
        }
  return { ...x, data: out };
}

/** f_to_idxBl_or_fhat in float64; also the smallest gap between the best and second-best squared distance. */
function encode64(f: Map64, sizes: [number, number][], tensors: Record<string, RawTensor>, modules: string[], r: number) {
  const E = tensors['quantize.embedding.weight']!;
  const [V, C] = E.shape as [number, number];
  const map = phiIndexMap(modules.length, sizes.length);
  let rest = f;
  let fhat: Map64 = { ...f, data: new Float64Array(f.data.length) };
  const ids: number[][] = [];
  const fhats: Map64[] = [];
  let margin = Infinity;
  sizes.forEach(([ph, pw], si) => {
    const last = si === sizes.length - 1;
    const z = last ? rest : resize64(rest, ph, pw, 'area');
    const idx: number[] = [];
    const h: Map64 = { b: f.b, h: ph, w: pw, c: C, data: new Float64Array(f.b * ph * pw * C) };
    for (let n = 0; n < f.b * ph * pw; n++) {
      const d = Array.from({ length: V }, (_, v) => {
        let s = 0;
        for (let c = 0; c < C; c++) s += (z.data[n * C + c]! - E.data[v * C + c]!) ** 2;
        return s;
      });
      const best = d.indexOf(Math.min(...d));
      margin = Math.min(margin, Math.min(...d.filter((_, v) => v !== best)) - d[best]!);
      idx.push(best);
      for (let c = 0; c < C; c++) h.data[n * C + c] = E.data[best * C + c]!;
    }
    ids.push(idx);
    const m = modules[map[si]!]!;
    const up = last ? h : resize64(h, f.h, f.w, 'bicubic');
    const phi = phi64(up, tensors[`quantize.${m}.weight`]!.data, tensors[`quantize.${m}.bias`]!.data, r);
    fhat = { ...fhat, data: fhat.data.map((v, i) => v + phi.data[i]!) };
    rest = { ...rest, data: rest.data.map((v, i) => v - phi.data[i]!) };
    fhats.push(fhat);
  });
  return { ids, fhats, margin };
}

async function maxAbsDiff(a: tf.Tensor, b: ArrayLike<number>): Promise<number> {
  const values = await a.data();
  expect(values.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]! - b[i]!));
  return max;
}

describe(`nearestCode [${backendName()}]`, () => {
  it('takes the first index among exactly tied codes', async () => {
    const E = tf.tensor2d([[1, 0], [0, 1], [1, 0], [0, 1], [2, 2]], [5, 2]);
    const z = tf.tensor2d([[0.9, 0.1], [0.1, 0.9], [3, 3], [0, 0]], [4, 2]);
    const ids = await expectNoLeaks(async () => {
      const t = nearestCode(z, E);
      const out = Array.from(await t.data());
      t.dispose();
      return out;
    });
    // Rows 2 and 3 repeat rows 0 and 1; [0, 0] is at distance exactly 1 from each of rows 0–3.
    expect(ids).toEqual([0, 1, 4, 0]);
    tf.dispose([E, z]);
  });

  it('agrees with a float64 brute-force search', async () => {
    const [n, v, c] = [300, 64, 8];
    const zData = normals(n * c, 11);
    const eData = normals(v * c, 12);
    const [z, E] = [tf.tensor2d(zData, [n, c]), tf.tensor2d(eData, [v, c])];
    const t = nearestCode(z, E);
    const ids = await t.data();
    tf.dispose([z, E, t]);
    for (let i = 0; i < n; i++) {
      const d = Array.from({ length: v }, (_, k) => {
        let s = 0;
        for (let j = 0; j < c; j++) s += (zData[i * c + j]! - eData[k * c + j]!) ** 2;
        return s;
      });
      expect(ids[i], `row ${i}`).toBe(d.indexOf(Math.min(...d)));
    }
  });
});

describe(`MultiScaleResidualQuantizer sharing modes [${backendName()}]`, () => {
  // A zero codebook makes every embedding 0 and every code a tie (id 0); zero kernels make Phi_k(0) = r·bias_k, so the
  // growth of f̂ at scale si names the Phi it used when bias_k = k + 1.
  async function phiUsedPerScale(sn: number, shareQuantResi: number, modules: string[]): Promise<number[]> {
    const c = 2;
    const tensors: Record<string, RawTensor> = { 'quantize.embedding.weight': { shape: [3, c], data: new Float32Array(3 * c) } };
    modules.forEach((m, k) => {
      tensors[`quantize.${m}.weight`] = { shape: [c, c, 3, 3], data: new Float32Array(c * c * 9) };
      tensors[`quantize.${m}.bias`] = { shape: [c], data: [k + 1, k + 1] };
    });
    const patchNums = Array.from({ length: sn }, (_, i) => i + 1);
    const q = await load(tensors, { vocabSize: 3, cvae: c, patchNums, quantResi: 0.5, shareQuantResi });
    const f = tf.randomNormal([1, sn, sn, c], 0, 1, 'float32', 3) as tf.Tensor4D;
    const { idx_Bl, fhat_BHWC } = q.encode(f, patchNums, { withFhat: true });
    const used: number[] = [];
    let previous = 0;
    for (let si = 0; si < sn; si++) {
      expect(Array.from(await idx_Bl[si]!.data()).every((id) => id === 0), 'ties go to id 0').toBe(true);
      const value = (await fhat_BHWC![si]!.data())[0]!;
      used.push(Math.round(2 * (value - previous)) - 1);
      previous = value;
    }
    tf.dispose([f, idx_Bl, fhat_BHWC!]);
    q.dispose();
    return used;
  }

  it('share_quant_resi = 4 (PhiPartiallyShared, quant_resi.qresi_ls.k) follows the index map', async () => {
    const modules = [0, 1, 2, 3].map((k) => `quant_resi.qresi_ls.${k}`);
    expect(await phiUsedPerScale(10, 4, modules)).toEqual([0, 0, 1, 1, 1, 2, 2, 3, 3, 3]);
    expect(await phiUsedPerScale(5, 4, modules)).toEqual([0, 1, 2, 2, 3]);
  });

  it('share_quant_resi = 0 (PhiNonShared, quant_resi.k) uses one Phi per scale', async () => {
    expect(await phiUsedPerScale(6, 0, [0, 1, 2, 3, 4, 5].map((k) => `quant_resi.${k}`))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('share_quant_resi = 1 (PhiShared, quant_resi.qresi) uses one Phi everywhere', async () => {
    expect(await phiUsedPerScale(4, 1, ['quant_resi.qresi'])).toEqual([0, 0, 0, 0]);
  });

  it('quant_resi = 0 makes Phi the identity and needs no Phi parameters', async () => {
    const tensors = checkpoint(8, 3, [], 5);
    const q = await load(tensors, { vocabSize: 8, cvae: 3, patchNums: [1, 2], quantResi: 0, shareQuantResi: 4 });
    const idx = [tf.tensor2d([[5], [2]], [2, 1], 'int32'), tf.tensor2d([[1, 0, 7, 7], [3, 3, 3, 3]], [2, 4], 'int32')];
    const fhat = q.idxToFhat(idx as tf.Tensor2D[]);
    const E = tensors['quantize.embedding.weight']!.data;
    // Scale 0 is one code, which the bicubic up-sampling spreads unchanged over the 2×2 latent.
    const expected = [[5, 1, 0, 7, 7], [2, 3, 3, 3, 3]].flatMap(([first, ...rest]) =>
      rest.flatMap((id) => [0, 1, 2].map((c) => E[first! * 3 + c]! + E[id! * 3 + c]!)),
    );
    expect(await maxAbsDiff(fhat, expected)).toBeLessThan(1e-5);
    tf.dispose([fhat, ...idx]);
    q.dispose();
  });

  it('rejects a sharing mode that leaves Phi convolutions of the checkpoint unused', async () => {
    const modules = [0, 1, 2, 3].map((k) => `quant_resi.qresi_ls.${k}`);
    const before = tf.memory().numTensors;
    await expect(load(checkpoint(8, 3, modules, 1), { vocabSize: 8, cvae: 3, patchNums: [1, 2], shareQuantResi: 2 })).rejects.toThrow(
      /config\.shareQuantResi: .*quantize\.quant_resi\.qresi_ls\.2\.weight/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe(`MultiScaleResidualQuantizer on a non-square latent vs a float64 reference [${backendName()}]`, () => {
  const [B, H, W, C, V] = [2, 3, 5, 4, 16];
  const sizes: [number, number][] = [[1, 1], [2, 3], [2, 2], [3, 5]];
  const modules = [0, 1, 2, 3].map((k) => `quant_resi.qresi_ls.${k}`);
  const tensors = checkpoint(V, C, modules, 21);
  const fData = normals(B * H * W * C, 22);
  const ref = encode64({ b: B, h: H, w: W, c: C, data: Float64Array.from(fData) }, sizes, tensors, modules, 0.5);

  it('the data has no near-ties, so every id is well defined', () => expect(ref.margin).toBeGreaterThan(1e-3));

  it('encode, idxToFhat, teacherForcingInput and nextInput match it, leak-free', async () => {
    const q = await load(tensors, { vocabSize: V, cvae: C, patchNums: sizes });
    const f = tf.tensor4d(fData, [B, H, W, C]);
    await expectNoLeaks(async () => {
      const { idx_Bl, fhat_BHWC } = q.encode(f, sizes, { withFhat: true });
      for (let si = 0; si < sizes.length; si++) {
        expect(idx_Bl[si]!.shape).toEqual([B, sizes[si]![0] * sizes[si]![1]]);
        expect(Array.from(await idx_Bl[si]!.data()), `ids of scale ${si}`).toEqual(ref.ids[si]);
        expect(await maxAbsDiff(fhat_BHWC![si]!, ref.fhats[si]!.data), `f̂ of scale ${si}`).toBeLessThan(1e-4);
      }
      const fhat = q.idxToFhat(idx_Bl);
      expect(await maxAbsDiff(fhat, ref.fhats.at(-1)!.data)).toBeLessThan(1e-4);

      const x = q.teacherForcingInput(idx_Bl);
      expect(x.shape).toEqual([B, 6 + 4 + 15, C]);
      const expectedX = sizes.slice(1).map(([ph, pw], si) => resize64(ref.fhats[si]!, ph, pw, 'area'));
      const xValues = await x.data();
      let offset = 0;
      for (let si = 0; si < expectedX.length; si++) {
        const l = sizes[si + 1]![0] * sizes[si + 1]![1];
        for (let b = 0; b < B; b++)
          for (let i = 0; i < l * C; i++) {
            const got = xValues[(b * 25 + offset) * C + i]!;
            expect(Math.abs(got - expectedX[si]!.data[b * l * C + i]!)).toBeLessThan(1e-4);
          }
        offset += l;
      }

      let running = tf.zerosLike(f);
      for (let si = 0; si < sizes.length; si++) {
        const h = q.embed(idx_Bl[si]!, sizes[si]!);
        const step = q.nextInput(si, running, h);
        expect(step.next_BhwC.shape).toEqual([B, ...(sizes[si + 1] ?? sizes[si]!), C]);
        tf.dispose([running, h, step.next_BhwC]);
        running = step.fhat_BHWC;
      }
      expect(await maxAbsDiff(running, ref.fhats.at(-1)!.data)).toBeLessThan(1e-4);
      tf.dispose([idx_Bl, fhat_BHWC!, fhat, x, running]);
    });
    f.dispose();
    q.dispose();
  });
});

describe(`MultiScaleResidualQuantizer argument errors [${backendName()}]`, () => {
  const tensors = checkpoint(8, 3, [0, 1, 2, 3].map((k) => `quant_resi.qresi_ls.${k}`), 31);
  const config = { vocabSize: 8, cvae: 3, patchNums: [1, 2, 4] };

  function thrown(fn: () => unknown): InvalidArgumentError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidArgumentError);
      return err as InvalidArgumentError;
    }
    throw new Error('expected a throw');
  }

  it('names the argument, the expected and the actual value, and allocates nothing', async () => {
    const q = await load(tensors, config);
    const f = tf.zeros([2, 4, 4, 3]) as tf.Tensor4D;
    const idx = ([1, 4, 16] as const).map((l) => tf.zeros([2, l], 'int32') as tf.Tensor2D);
    const fiveChannels = tf.zeros([2, 4, 4, 5]) as tf.Tensor4D;
    const rank3 = tf.zeros([4, 4, 3]) as unknown as tf.Tensor4D;
    const integers = tf.zeros([2, 4, 4, 3], 'int32') as tf.Tensor4D;
    const floatIdx = tf.zeros([2, 4]) as tf.Tensor2D;
    const before = tf.memory().numTensors;

    const channels = thrown(() => q.encode(fiveChannels));
    expect(channels).toBeInstanceOf(ShapeError);
    expect(channels).toMatchObject({ argument: 'f_BHWC', actual: '[2, 4, 4, 5]' });
    expect(channels.expected).toMatch(/\[B ≥ 1, H, W, 3\]/);
    expect(thrown(() => q.encode(rank3))).toMatchObject({ argument: 'f_BHWC', expected: 'rank 4' });
    expect(thrown(() => q.encode(integers))).toBeInstanceOf(DTypeError);

    const lastScale = thrown(() => q.encode(f, [1, 2, 3]));
    expect(lastScale).toBeInstanceOf(ShapeError);
    expect(lastScale.message).toBe('patchNums: expected a last patch size equal to the latent\'s 4×4, got (1, 2, 3), ending at 3×3');
    expect(thrown(() => q.encode(f, [4]))).toMatchObject({ argument: 'patchNums' });
    expect(thrown(() => q.encode(f, [1, 0, 4]))).toMatchObject({ argument: 'patchNums[1]' });
    expect(thrown(() => q.encode(f, [1, [2, 2.5], 4]))).toMatchObject({ argument: 'patchNums[1]' });

    const count = thrown(() => q.idxToFhat(idx.slice(0, 2)));
    expect(count).toMatchObject({ argument: 'idx_Bl', actual: 'array of length 2' });
    expect(count.expected).toMatch(/^3 tensors/);
    const length = thrown(() => q.teacherForcingInput([idx[0]!, idx[2]!, idx[1]!]));
    expect(length).toBeInstanceOf(ShapeError);
    expect(length).toMatchObject({ argument: 'idx_Bl[1]', actual: '[2, 16]' });
    expect(length.expected).toMatch(/^\[2, 4\] \(2×2 tokens of scale 1\)/);
    expect(thrown(() => q.idxToFhat([idx[0]!, floatIdx, idx[2]!]))).toBeInstanceOf(DTypeError);

    expect(thrown(() => q.nextInput(3, f, idx[0] as unknown as tf.Tensor4D))).toMatchObject({ argument: 'si' });
    expect(thrown(() => q.nextInput(1, f, f))).toMatchObject({ argument: 'h_BhwC', actual: '[2, 4, 4, 3]' });
    expect(thrown(() => q.embed(idx[1]!, 3))).toMatchObject({ argument: 'idx_Bl', expected: '[B ≥ 1, 9] (3×3 tokens)' });
    expect(thrown(() => q.embed(idx[1]!, [2, 0]))).toMatchObject({ argument: 'patchSize' });

    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([f, ...idx, fiveChannels, rank3, integers, floatIdx]);
    q.dispose();
  });

  it('rejects checkpoints that do not fit the config', async () => {
    await expect(load(tensors, { ...config, cvae: 4 })).rejects.toBeInstanceOf(ShapeError);
    await expect(load({ 'quantize.embedding.weight': tensors['quantize.embedding.weight']! }, config)).rejects.toThrow(
      /checkpoint: expected every parameter the model needs, got no quantize\.quant_resi\.qresi_ls\.0\.weight/,
    );
    await expect(load(tensors, { ...config, prefix: 'vae.' })).rejects.toThrow(/no vae\.quantize\.embedding\.weight/);
    await expect(load(tensors, { ...config, patchNums: [4] })).rejects.toMatchObject({ argument: 'config.patchNums' });
    await expect(load(tensors, { ...config, shareQuantResi: -1 })).rejects.toMatchObject({ argument: 'config.shareQuantResi' });
  });

  it('share_quant_resi = 0 accepts only the configured scale count', async () => {
    const q = await load(checkpoint(8, 3, ['quant_resi.0', 'quant_resi.1', 'quant_resi.2'], 41), { ...config, shareQuantResi: 0 });
    const f = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    expect(thrown(() => q.encode(f, [2, 4]))).toMatchObject({ argument: 'patchNums' });
    f.dispose();
    q.dispose();
  });
});
