import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, type TensorSource } from '@nextdetail/core';
import {
  type BaseDetailEncoding,
  BaseDetailQuantizer,
  type BaseDetailQuantizerConfig,
  type BaseDetailStep,
} from '../src/quantizer/baseDetail.js';
import { MultiScaleResidualQuantizer, type MultiScaleResidualQuantizerConfig } from '../src/quantizer/multiScaleResidual.js';
import { VarVqvae } from '../src/vqvae/varVqvae.js';
import type { VarVqvaeConfig } from '../src/vqvae/varVqvaeConfig.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { maxAbsDiff, normals, syntheticSource, thrown } from './helpers.js';


function latent(shape: [number, number, number, number], seed: number, scale = 1): tf.Tensor4D {
  return tf.tensor4d(normals(shape.reduce((a, b) => a * b, 1), seed).map((v) => v * scale), shape);
}

/**
 * A randomly initialised quantizer: codebook N(0, 1) (with `zeroRow`, row 0 is zero) and, for quantResi ≠ 0, the
 * K = 4 shared Phi convolutions with small weights.
 */
async function tinyQuantizer(
  config: MultiScaleResidualQuantizerConfig,
  { seed = 1, zeroRow = false }: { seed?: number; zeroRow?: boolean } = {},
): Promise<MultiScaleResidualQuantizer> {
  const { vocabSize: v, cvae: c } = config;
  const codebook = normals(v * c, seed);
  if (zeroRow) codebook.fill(0, 0, c);
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {
    'quantize.embedding.weight': { shape: [v, c], data: codebook },
  };
  if ((config.quantResi ?? 0.5) !== 0) {
    for (let k = 0; k < (config.shareQuantResi ?? 4); k++) {
      const m = `quantize.quant_resi.qresi_ls.${k}`;
      tensors[`${m}.weight`] = { shape: [c, c, 3, 3], data: normals(c * c * 9, seed + 1 + k).map((x) => 0.2 * x) };
      tensors[`${m}.bias`] = { shape: [c], data: normals(c, seed + 101 + k).map((x) => 0.2 * x) };
    }
  }
  const source: TensorSource = {
    keys: () => Object.keys(tensors),
    info: (name) => ({ dtype: 'F32', shape: tensors[name]!.shape }),
    tensor: async (name) => tf.tensor(tensors[name]!.data, tensors[name]!.shape),
  };
  return MultiScaleResidualQuantizer.fromStateDict(source, config);
}

async function sumOfSquares(t: tf.Tensor): Promise<number> {
  const s = tf.sum(tf.square(t));
  const [v] = await s.data();
  s.dispose();
  return v!;
}

/** Runs `fn` and checks that the only tensors it left behind are the ones it returned (the caller's to dispose). */
async function leavesOnlyResult<T>(fn: () => Promise<T> | T): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const returned = new Set<number>();
  const walk = (x: unknown): void => {
    if (x instanceof tf.Tensor) returned.add(x.id);
    else if (x !== null && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk(result);
  expect(tf.memory().numTensors - before, 'tensors left behind besides the result').toBe(returned.size);
  return result;
}


async function ids(encoding: { steps: { idx_Bl: tf.Tensor2D }[] }): Promise<number[][]> {
  return Promise.all(encoding.steps.map(async (s) => Array.from(await s.idx_Bl.data())));
}

/** V = 32, Cvae = 4, four scales up to a 4×4 latent, K = 4 shared Phis. */
const CONFIG: MultiScaleResidualQuantizerConfig = { vocabSize: 32, cvae: 4, patchNums: [1, 2, 3, 4] };
const SHAPE: [number, number, number, number] = [2, 4, 4, 4];

/** Three detail factors, smaller than the base as detail latents are. */
function latents(seed = 10): { fBase: tf.Tensor4D; fDetails: tf.Tensor4D[] } {
  return { fBase: latent(SHAPE, seed), fDetails: [1, 2, 3].map((k) => latent(SHAPE, seed + k, 0.5)) };
}

describe(`BaseDetailQuantizer on latents (${backendName()})`, () => {
  it('order 0 is VAR exactly: same ids, f̂ and teacher-forcing input as MultiScaleResidualQuantizer', async () => {
    const q = await tinyQuantizer(CONFIG);
    const bd = new BaseDetailQuantizer(q);
    const f = latent(SHAPE, 3);
    const enc = await leavesOnlyResult(() => bd.encodeLatents({ fBase: f, fDetails: [] }));
    const varEnc = q.encode(f);
    expect(enc.steps.map((s) => s.kind)).toEqual(['base', 'base', 'base', 'base']);
    expect(await ids(enc)).toEqual(await ids({ steps: varEnc.idx_Bl.map((idx_Bl) => ({ idx_Bl })) }));
    const pairs: Array<[string, tf.Tensor, tf.Tensor]> = [
      ['f̂ of the encoding', enc.fhat_BHWC, q.idxToFhat(varEnc.idx_Bl)],
      ['idxToFhat', await leavesOnlyResult(() => bd.idxToFhat(enc)), q.idxToFhat(varEnc.idx_Bl)],
      ['teacher forcing', await leavesOnlyResult(() => bd.teacherForcingInput(enc)), q.teacherForcingInput(varEnc.idx_Bl)],
    ];
    for (const [what, ours, theirs] of pairs) {
      expect(ours.shape, what).toEqual(theirs.shape);
      expect(Array.from(await ours.data()), what).toEqual(Array.from(await theirs.data()));
    }
    expect(enc.detailResiduals_BHWC).toEqual([]);
    tf.dispose([enc, varEnc, pairs.map((p) => p.slice(1)), f]);
    q.dispose();
  });

  it('orders the steps base then D_n … D_1, splits the detail maps evenly, deepest first', async () => {
    const q = await tinyQuantizer(CONFIG);
    const { fBase, fDetails } = latents();
    const layout = (bd: BaseDetailQuantizer) => {
      const enc = bd.encodeLatents({ fBase, fDetails });
      const steps = enc.steps.map((s) => (s.kind === 'base' ? `b${s.scale}:${s.size.join('x')}` : `d${s.factor}:${s.size.join('x')}`));
      enc.steps.forEach((s) => expect(s.idx_Bl.shape).toEqual([2, s.size[0] * s.size[1]]));
      tf.dispose(enc);
      return steps;
    };
    const base = ['b0:1x1', 'b1:2x2', 'b2:3x3', 'b3:4x4'];
    expect(layout(new BaseDetailQuantizer(q))).toEqual([...base, 'd3:4x4', 'd2:4x4', 'd1:4x4']);
    expect(layout(new BaseDetailQuantizer(q, { detailSteps: 4 }))).toEqual([...base, 'd3:4x4', 'd3:4x4', 'd2:4x4', 'd1:4x4']);
    expect(layout(new BaseDetailQuantizer(q, { detailSteps: 8 }))).toEqual([
      ...base, 'd3:4x4', 'd3:4x4', 'd3:4x4', 'd2:4x4', 'd2:4x4', 'd2:4x4', 'd1:4x4', 'd1:4x4',
    ]);
    expect(layout(new BaseDetailQuantizer(q, { detailSteps: [2, 0, 1] }))).toEqual([...base, 'd3:4x4', 'd1:4x4', 'd1:4x4']);
    expect(layout(new BaseDetailQuantizer(q, { basePatchNums: [2, 4], detailSteps: 0 }))).toEqual(['b0:2x2', 'b1:4x4']);
    tf.dispose([fBase, fDetails]);
    q.dispose();
  });

  it('the step terms sum to idxToFhat, f̂ is reproduced bit for bit, and f_I − f̂ is the tracked residual', async () => {
    const q = await tinyQuantizer(CONFIG);
    const { fBase, fDetails } = latents();
    for (const config of [{}, { detailSteps: 5, detailPhiScale: 1 }]) {
      const bd = new BaseDetailQuantizer(q, config);
      const enc: BaseDetailEncoding = await leavesOnlyResult(() => bd.encodeLatents({ fBase, fDetails }));
      const fhat = await leavesOnlyResult(() => bd.idxToFhat(enc));
      const terms = await leavesOnlyResult(() => bd.stepContributions(enc));
      expect(terms).toHaveLength(enc.steps.length);
      const sum = tf.addN(terms);
      const fImage = tf.addN([fBase, ...fDetails]);
      const fromImage = tf.sub(fImage, fhat);
      const fromFactors = tf.addN([enc.baseResidual_BHWC, ...enc.detailResiduals_BHWC]);
      expect(Array.from(await fhat.data())).toEqual(Array.from(await enc.fhat_BHWC.data()));
      expect(await maxAbsDiff(sum, fhat)).toBeLessThan(1e-5);
      expect(await maxAbsDiff(fromImage, enc.residual_BHWC)).toBeLessThan(1e-5);
      expect(await maxAbsDiff(fromFactors, enc.residual_BHWC)).toBeLessThan(1e-5);

      // Each detail step's input is the cumulative f̂ before it, at full resolution, after VAR's 1 + 4 + 9 rows.
      const tf_BLC = await leavesOnlyResult(() => bd.teacherForcingInput(enc));
      const detailCount = enc.steps.length - 4;
      expect(tf_BLC.shape).toEqual([2, 4 + 9 + 16 * (1 + detailCount), 4]);
      const lastInput = tf.reshape(tf.slice(tf_BLC, [0, tf_BLC.shape[1] - 16, 0], [2, 16, 4]), SHAPE);
      const beforeLast = tf.sub(fhat, terms[terms.length - 1]!);
      expect(await maxAbsDiff(lastInput, beforeLast)).toBeLessThan(1e-5);
      tf.dispose([enc, fhat, terms, sum, fImage, fromImage, fromFactors, tf_BLC, lastInput, beforeLast]);
    }
    tf.dispose([fBase, fDetails]);
    q.dispose();
  });

  it("detail steps reduce their factor's residual, and recover a factor made of codebook rows exactly", async () => {
    // Nearest-code lookup minimises ‖r − E_v‖, so a step cannot grow the residual when Phi is the identity (quantResi
    // 0) and the codebook holds a zero row; with learned Phis that is a property of training, not of the algorithm.
    const q = await tinyQuantizer({ ...CONFIG, vocabSize: 64, quantResi: 0 }, { zeroRow: true });
    const { fBase, fDetails } = latents(20);
    const one = new BaseDetailQuantizer(q).encodeLatents({ fBase, fDetails });
    const two = new BaseDetailQuantizer(q, { detailSteps: 6 }).encodeLatents({ fBase, fDetails });
    for (let k = 0; k < 3; k++) {
      const before = await sumOfSquares(fDetails[k]!);
      const afterOne = await sumOfSquares(one.detailResiduals_BHWC[k]!);
      const afterTwo = await sumOfSquares(two.detailResiduals_BHWC[k]!);
      expect(afterOne, `D_${k + 1}, one map`).toBeLessThan(0.9 * before);
      expect(afterTwo, `D_${k + 1}, two maps`).toBeLessThan(afterOne);
    }
    // The base residual is the base steps' alone: the detail steps leave it untouched.
    expect(await maxAbsDiff(one.baseResidual_BHWC, two.baseResidual_BHWC)).toBe(0);

    const codes = Array.from({ length: 2 * 16 }, (_, i) => (i * 7 + 3) % 63 + 1);
    const idx = tf.tensor2d(codes, [2, 16], 'int32');
    const exact = q.embed(idx, [4, 4]);
    const enc = new BaseDetailQuantizer(q, { detailSteps: [1, 0, 0] }).encodeLatents({
      fBase,
      fDetails: [exact, fDetails[1]!, fDetails[2]!],
    });
    const d1 = enc.steps[enc.steps.length - 1]!;
    expect(d1.kind === 'detail' && d1.factor).toBe(1);
    expect(Array.from(await d1.idx_Bl.data())).toEqual(codes);
    expect(await sumOfSquares(enc.detailResiduals_BHWC[0]!)).toBe(0);
    tf.dispose([one, two, enc, idx, exact, fBase, fDetails]);
    q.dispose();
  });

  it('rejects mismatched latents, schedules and plans with typed errors naming the argument, leak-free', async () => {
    const q = await tinyQuantizer(CONFIG);
    const bd = new BaseDetailQuantizer(q);
    const { fBase, fDetails } = latents();
    const enc = bd.encodeLatents({ fBase, fDetails });
    const small = latent([2, 3, 3, 4], 5);
    const wrongC = latent([2, 4, 4, 3], 6);
    const badIds = tf.zeros([2, 5], 'int32') as tf.Tensor2D;
    const all = { fBase, fDetails };
    const withConfig = (config: BaseDetailQuantizerConfig) => new BaseDetailQuantizer(q, config);
    const baseSteps = enc.steps.slice(0, 4);
    const detail = (size: [number, number]): BaseDetailStep => ({ kind: 'detail', factor: 1, size, idx_Bl: badIds });
    const cases: Array<[string, typeof InvalidArgumentError, string, () => unknown]> = [
      ['latent size', ShapeError, 'latents.fBase', () => bd.encodeLatents({ fBase: small, fDetails: [] })],
      ['latent channels', ShapeError, 'latents.fBase', () => bd.encodeLatents({ fBase: wrongC, fDetails: [] })],
      ['detail shape', ShapeError, 'latents.fDetails[1]',
        () => bd.encodeLatents({ fBase, fDetails: [fDetails[0]!, small] })],
      ['details not an array', InvalidArgumentError, 'latents.fDetails',
        () => bd.encodeLatents({ ...all, fDetails: small as never })],
      ['counts per factor', InvalidArgumentError, 'config.detailSteps',
        () => withConfig({ detailSteps: [1, 1] }).encodeLatents(all)],
      ['maps at order 0', InvalidArgumentError, 'config.detailSteps',
        () => withConfig({ detailSteps: 2 }).encodeLatents({ fBase, fDetails: [] })],
      ['negative count', InvalidArgumentError, 'config.detailSteps[1]', () => withConfig({ detailSteps: [1, -1] })],
      ['fractional total', InvalidArgumentError, 'config.detailSteps', () => withConfig({ detailSteps: 1.5 })],
      ['Phi scale', InvalidArgumentError, 'config.detailPhiScale', () => withConfig({ detailPhiScale: 4 })],
      ['base schedule', InvalidArgumentError, 'config.basePatchNums', () => withConfig({ basePatchNums: [4] })],
      ['latent of another schedule', ShapeError, 'latents.fBase',
        () => withConfig({ basePatchNums: [1, 3] }).encodeLatents(all)],
      ['too few steps', InvalidArgumentError, 'plan.steps', () => bd.idxToFhat({ steps: enc.steps.slice(0, 3) })],
      ['detail first', InvalidArgumentError, 'plan.steps[0]',
        () => bd.idxToFhat({ steps: [enc.steps[4]!, ...enc.steps.slice(1)] })],
      ['ids of the wrong size', ShapeError, 'plan.steps[4].idx_Bl',
        () => bd.teacherForcingInput({ steps: [...baseSteps, detail([4, 4])] })],
      ['detail map not full size', InvalidArgumentError, 'plan.steps[4]',
        () => bd.stepContributions({ steps: [...baseSteps, detail([1, 5])] })],
    ];
    for (const [what, type, argument, fn] of cases) {
      const err = (await expectNoLeaks(() => thrown(fn))) as InvalidArgumentError;
      expect(err, what).toBeInstanceOf(type);
      expect(err.argument, what).toBe(argument);
    }
    const unshared = await tinyQuantizer({ ...CONFIG, quantResi: 0, shareQuantResi: 0 });
    const err = await thrown(() => new BaseDetailQuantizer(unshared, { basePatchNums: [2, 4] }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).argument).toBe('config.basePatchNums');
    tf.dispose([enc, fBase, fDetails, small, wrongC, badIds]);
    unshared.dispose();
    q.dispose();
  });
});

/** Two levels (factor 2), one block per level, z 4 (as varVqvaeLoading.test.ts): milliseconds anywhere. */
const SMALL_VAE: VarVqvaeConfig = { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 4, vocabSize: 8 };

/** A VAE checkpoint with smooth deterministic values (GroupNorm scales near 1). */
function vaeSource(config: VarVqvaeConfig): TensorSource {
  const shapes = Object.fromEntries(Object.entries(VarVqvae.stateDictSpec(config)).map(([k, p]) => [k, [...p.shape]]));
  return syntheticSource(shapes);
}

describe(`BaseDetailQuantizer.encodeImage (${backendName()})`, () => {
  const smoother = { method: 'guided-filter' as const, guidedFilter: { radius: 1 } };

  it('decomposes, encodes every base and quantises end to end on a tiny VAE, leak-free', async () => {
    const vae = await VarVqvae.fromStateDict(vaeSource(SMALL_VAE), SMALL_VAE);
    const q = await tinyQuantizer({ vocabSize: 8, cvae: 4, patchNums: [1, 2, 4] });
    const bd = new BaseDetailQuantizer(q);
    const image = tf.tidy(() => tf.clipByValue(tf.add(tf.mul(latent([1, 8, 8, 3], 30), 0.15), 0.5), 0, 1)) as tf.Tensor4D;
    const enc = await leavesOnlyResult(() => bd.encodeImage(vae, image, { order: 2, decomposeOptions: smoother }));
    expect(enc.steps.map((s) => (s.kind === 'base' ? 'base' : `D${s.factor}`))).toEqual(['base', 'base', 'base', 'D2', 'D1']);
    // f_I = E(I) up to the telescoping sum's rounding: what was quantised plus what is left.
    const fImage = vae.encode(tf.tidy(() => tf.sub(tf.mul(image, 2), 1)));
    const rebuilt = tf.add(enc.fhat_BHWC, enc.residual_BHWC);
    expect(await maxAbsDiff(rebuilt, fImage)).toBeLessThan(1e-4);
    const out = tf.tidy(() => vae.fhatToImage(bd.idxToFhat(enc)));
    expect(out.shape).toEqual([1, 8, 8, 3]);

    // Order 0 runs the encoder on the image alone and is VAR's tokenisation of E(I).
    const zero = await leavesOnlyResult(() => bd.encodeImage(vae, image, { order: 0, decomposeOptions: smoother }));
    const varEnc = q.encode(fImage);
    expect(await ids(zero)).toEqual(await ids({ steps: varEnc.idx_Bl.map((idx_Bl) => ({ idx_Bl })) }));
    tf.dispose([enc, zero, varEnc, fImage, rebuilt, out, image]);
    q.dispose();
    vae.dispose();
  });

  it('rejects an image the VAE cannot encode, leak-free', async () => {
    const vae = await VarVqvae.fromStateDict(vaeSource(SMALL_VAE), SMALL_VAE);
    const q = await tinyQuantizer({ vocabSize: 8, cvae: 4, patchNums: [1, 2, 4] });
    const bd = new BaseDetailQuantizer(q);
    const odd = tf.fill([1, 7, 8, 3], 0.5) as tf.Tensor4D;
    const err = await expectNoLeaks(() => thrown(() => bd.encodeImage(vae, odd, { order: 1, decomposeOptions: smoother })));
    expect(err).toBeInstanceOf(ShapeError);
    const rank3 = tf.fill([8, 8, 3], 0.5);
    const err3 = await expectNoLeaks(() => thrown(() => bd.encodeImage(vae, rank3 as tf.Tensor4D)));
    expect((err3 as ShapeError).argument).toBe('image_BHWC');
    tf.dispose([odd, rank3]);
    q.dispose();
    vae.dispose();
  });
});
