import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { expectNoLeaks } from '../../../test/backend';
import {
  FLEXVAR_PAPER_SCHEDULES,
  FLEXVAR_SCRIPT_SCHEDULES,
  flexVarGuidance,
  guidedLogits,
  linspace,
  nvgGuidance,
  NVG_CONTENT_GUIDANCE,
  NVG_STRUCTURE_GUIDANCE,
  nvgTopPSchedule,
  scaleSchedule,
  squareSchedule,
  VAR_PATCH_NUMS,
  varGuidance,
} from '../src/index';

describe('guidance weights', () => {
  it('VAR ramps cfg·si/(SN − 1)', () => {
    expect([0, 1, 2, 3].map((si) => varGuidance(1.5, si, 4))).toEqual([0, 0.5, 1, 1.5]);
    expect(varGuidance(2, 0, 1)).toBe(2);
    expect(() => varGuidance(1.5, 4, 4)).toThrow(/si/);
  });

  it('FlexVAR caps the denominator at 9 and uses cfg beyond maxPn', () => {
    expect(flexVarGuidance(2.5, 3, 6, 6)).toBeCloseTo(1.5, 12);
    expect(flexVarGuidance(2.7, 13, 15, 16)).toBeCloseTo((2.7 * 13) / 9, 12);
    expect(flexVarGuidance(3, 1, 10, 23, 16)).toBe(3);
  });

  it('NVG linspaces match the released per-stage values', () => {
    expect(nvgGuidance(NVG_CONTENT_GUIDANCE, 9)).toEqual([1.0, 1.3125, 1.625, 1.9375, 2.25, 2.5625, 2.875, 3.1875, 3.5]);
    expect(nvgGuidance(NVG_STRUCTURE_GUIDANCE, 9)).toEqual([1, 1.1875, 1.375, 1.5625, 1.75, 1.9375, 2.125, 2.3125, 2.5]);
    expect(linspace(0, 1, 1)).toEqual([0]);
  });

  it('combines a doubled batch: ramp (1+t)c − tu, plain u + w(c − u), equal when w = 1 + t', async () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 5],
    ]);
    const ramp = await expectNoLeaks(async () => {
      const r = guidedLogits(x, 0.5, 'ramp');
      const v = await r.array();
      r.dispose();
      return v;
    });
    expect(ramp).toEqual([[1.5 * 1 - 0.5 * 3, 1.5 * 2 - 0.5 * 5]]);
    const plain = guidedLogits(x, 1.5, 'plain');
    expect(await plain.array()).toEqual(ramp);
    const odd = tf.zeros([3, 2]);
    expect(() => guidedLogits(odd, 1)).toThrow(/2B/);
    tf.dispose([x, plain, odd]);
  });
});

describe('scale schedules', () => {
  it('tabulates VAR and FlexVAR schedules with the right step counts and ends', () => {
    expect(VAR_PATCH_NUMS[256].reduce((a, p) => a + p * p, 0)).toBe(680);
    for (const [reso, table] of Object.entries({ ...FLEXVAR_PAPER_SCHEDULES })) {
      for (const [steps, list] of Object.entries(table)) {
        expect(list.length).toBe(Number(steps));
        expect(list[list.length - 1]).toBe(Number(reso) / 16);
      }
    }
    expect(FLEXVAR_SCRIPT_SCHEDULES[256][8]).toEqual([1, 2, 3, 5, 7, 10, 13, 16]);
    expect(squareSchedule([1, 2])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(() => squareSchedule([1, 0])).toThrow(/patchNums\[1\]/);
  });

  it('generates strictly growing schedules that end at the latent size, for any aspect', () => {
    expect(scaleSchedule(16, 16, 10).map(([h]) => h)).toEqual([1, 2, 3, 4, 5, 6, 7, 9, 12, 16]);
    for (const [h, w, n] of [
      [16, 16, 6],
      [24, 16, 11],
      [8, 32, 12],
      [5, 3, 5],
      [1, 1, 1],
    ] as const) {
      const s = scaleSchedule(h, w, n);
      expect(s.length).toBe(n);
      expect(s[n - 1]).toEqual([h, w]);
      const long = h >= w ? 0 : 1;
      for (let i = 1; i < n; i++) {
        expect(s[i]![long]!).toBeGreaterThan(s[i - 1]![long]!);
        expect(s[i]![1 - long]!).toBeGreaterThanOrEqual(s[i - 1]![1 - long]!);
      }
      expect(s[0]![long]).toBe(1);
    }
    expect(() => scaleSchedule(4, 4, 5)).toThrow(/steps/);
  });

  it('NVG top-p decays 1 → 0.5 as released for 9 stages', () => {
    const released = [1.0, 0.978797, 0.951301, 0.915642, 0.869398, 0.809427, 0.731655, 0.630797, 0.5];
    nvgTopPSchedule(9).forEach((p, i) => expect(p).toBeCloseTo(released[i]!, 6));
    const five = nvgTopPSchedule(5);
    expect(five[0]).toBe(1);
    expect(five[4]).toBe(0.5);
    for (let i = 1; i < 5; i++) expect(five[i]!).toBeLessThan(five[i - 1]!);
  });
});
