import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ambrosioTortorelli, resolveAmbrosioTortorelliOptions } from '../src/ambrosioTortorelli.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { fixturePath, readJson } from '../../../test/fixtures.js';
import { ambrosioTortorelliReference } from './ambrosioTortorelliReference.js';
import { GOLDEN_SIZE, goldenImage, parseSpotKey } from './goldenImage.js';

type GoldenCase = Record<string, number | number[]>;
const golden = readJson<Record<string, GoldenCase | string>>(fixturePath('eval', 'at_golden.json'));
const cases = Object.entries(golden)
  .map(([key, value]) => {
    const m = /^alpha([\d.e+-]+)_beta([\d.e+-]+)_eps([\d.e+-]+)_iters(\d+)$/.exec(key);
    if (!m || typeof value !== 'object') return null;
    const params = { alpha: Number(m[1]), beta: Number(m[2]), epsilon: Number(m[3]), iterations: Number(m[4]) };
    return { key, params, expected: value };
  })
  .filter((c): c is NonNullable<typeof c> => c !== null);

const N = GOLDEN_SIZE;

describe(`Ambrosio–Tortorelli vs at_golden.json [${backendName()}]`, () => {
  it('the golden file has cases', () => expect(cases.length).toBeGreaterThan(0));

  for (const { key, params, expected } of cases) {
    it(`float64 reference reproduces at_golden.json ${key}`, () => {
      const ref = ambrosioTortorelliReference(goldenImage(), N, N, params);
      checkCase(expected, ref.u, ref.v, ref.energies, 1e-7);
    });

    it(`tfjs implementation reproduces at_golden.json ${key}`, async () => {
      const options = resolveAmbrosioTortorelliOptions({ ...params, solver: { tolerance: 1e-7, maxIterations: 3000 } });
      const g = tf.tensor4d(Float32Array.from(goldenImage()), [1, N, N, 1]);
      const { u, v, energy } = await ambrosioTortorelli(g, options);
      const [uData, vData, eData] = await Promise.all([u.data(), v.data(), energy.data()]);
      tf.dispose([g, u, v, energy]);
      checkCase(expected, Float64Array.from(uData), Float64Array.from(vData), Array.from(eData), 2e-4);
    });
  }
});

function checkCase(expected: GoldenCase, u: Float64Array, v: Float64Array, energies: number[], tol: number): void {
  const g = goldenImage();
  for (const [key, value] of Object.entries(expected)) {
    const spot = parseSpotKey(key);
    if (spot) {
      const [field, i, j] = spot;
      const actual = (field === 'u' ? u : v)[i * N + j]!;
      expect(Math.abs(actual - (value as number)), key).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(value as number)));
    }
  }
  const close = (actual: number, want: number, what: string) =>
    expect(Math.abs(actual - want), what).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));
  close(Math.min(...v), expected.v_min as number, 'v_min');
  close(Math.max(...v), expected.v_max as number, 'v_max');
  close(u.reduce((s, ui, i) => s + Math.abs(g[i]! - ui), 0) / u.length, expected['mean_abs_detail(g-u)'] as number, 'mean |g-u|');
  const wantEnergies = expected.energy_per_iter as number[];
  expect(energies).toHaveLength(wantEnergies.length);
  wantEnergies.forEach((e, k) => {
    expect(Math.abs(energies[k]! - e) / e, `energy ${k}`).toBeLessThanOrEqual(tol);
  });
}

describe(`Ambrosio–Tortorelli on RGB batches [${backendName()}]`, () => {
  it('agrees with the float64 reference channel by channel and leaks nothing', async () => {
    const [B, H, W, C] = [2, 13, 17, 3];
    const data = new Float32Array(B * H * W * C).map((_, k) => 0.5 + 0.4 * Math.sin(k * 0.37) * Math.cos(k * 0.011));
    const options = resolveAmbrosioTortorelliOptions({ iterations: 3 });
    const g = tf.tensor4d(data, [B, H, W, C]);
    const { u, v } = await expectNoLeaks(async () => {
      const r = await ambrosioTortorelli(g, options);
      const out = { u: await r.u.data(), v: await r.v.data() };
      tf.dispose([r.u, r.v, r.energy]);
      return out;
    });
    g.dispose();
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) {
        const channel = new Float64Array(H * W);
        for (let p = 0; p < H * W; p++) channel[p] = data[(b * H * W + p) * C + c]!;
        const ref = ambrosioTortorelliReference(channel, H, W, options);
        for (let p = 0; p < H * W; p++) {
          expect(Math.abs(u[(b * H * W + p) * C + c]! - ref.u[p]!)).toBeLessThan(1e-4);
          expect(Math.abs(v[(b * H * W + p) * C + c]! - ref.v[p]!)).toBeLessThan(1e-4);
        }
      }
  });

  it('never increases the energy', async () => {
    const g = tf.tidy(() => tf.add(0.5, tf.mul(0.4, tf.sin(tf.reshape(tf.range(0, 2 * 20 * 20 * 3), [2, 20, 20, 3])))));
    const options = resolveAmbrosioTortorelliOptions({ alpha: 100, iterations: 4 });
    const { u, v, energy } = await ambrosioTortorelli(g as tf.Tensor4D, options);
    const e = (await energy.array()) as number[][][];
    tf.dispose([g, u, v, energy]);
    for (let k = 1; k < e.length; k++)
      for (let b = 0; b < 2; b++)
        for (let c = 0; c < 3; c++) expect(e[k]![b]![c]!).toBeLessThanOrEqual(e[k - 1]![b]![c]! * (1 + 1e-5));
  });

  it('rejects bad options with typed errors naming the option', () => {
    expect(() => resolveAmbrosioTortorelliOptions({ alpha: -1 })).toThrow(/options\.alpha: expected a number in \[0/);
    expect(() => resolveAmbrosioTortorelliOptions({ iterations: 1.5 })).toThrow(/options\.iterations: expected an integer/);
    expect(() => resolveAmbrosioTortorelliOptions({ epsilon: 0 })).toThrow(/options\.epsilon/);
  });
});
