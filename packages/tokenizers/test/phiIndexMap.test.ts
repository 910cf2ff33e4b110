import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@nextdetail/core';
import { phiCount, phiIndexMap, phiModuleName } from '../src/quantizer/phi.js';

describe('Phi index map (VAR PhiPartiallyShared / PhiNonShared / PhiShared)', () => {
  it('reproduces the maps numpy gives for 4 shared Phis, exact ties included', () => {
    expect(phiIndexMap(4, 10)).toEqual([0, 0, 1, 1, 1, 2, 2, 3, 3, 3]);
    expect(phiIndexMap(4, 14)).toEqual([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3]);
    expect(phiIndexMap(4, 5)).toEqual([0, 1, 2, 2, 3]);
    expect(phiIndexMap(4, 4)).toEqual([0, 1, 2, 3]);
  });

  it('sends the middle scale of every odd scale count to Phi 2, as numpy float64 does', () => {
    for (let sn = 3; sn <= 41; sn += 2) expect(phiIndexMap(4, sn)[(sn - 1) / 2], `SN = ${sn}`).toBe(2);
  });

  it('share_quant_resi = 0: one Phi per scale, in order', () => {
    for (let sn = 2; sn <= 40; sn++) {
      expect(phiCount(0, sn)).toBe(sn);
      expect(phiIndexMap(phiCount(0, sn), sn)).toEqual(Array.from({ length: sn }, (_, i) => i));
    }
    expect(phiModuleName(0, 3)).toBe('quant_resi.3');
  });

  it('share_quant_resi = 1: a single Phi for every scale', () => {
    expect(phiCount(1, 10)).toBe(1);
    expect(phiIndexMap(1, 10)).toEqual(Array(10).fill(0));
    expect(phiModuleName(1, 0)).toBe('quant_resi.qresi');
  });

  it('other K use the 1/(2K) ticks', () => {
    expect(phiCount(3, 10)).toBe(3);
    // si = 3 and 6 lie exactly halfway between two ticks; float64 rounding breaks both ties towards the lower Phi.
    expect(phiIndexMap(3, 10)).toEqual([0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(phiIndexMap(2, 5)).toEqual([0, 0, 0, 1, 1]);
    expect(phiModuleName(4, 2)).toBe('quant_resi.qresi_ls.2');
  });

  it('rejects counts that are not positive integers, and fewer than 2 scales', () => {
    expect(() => phiIndexMap(0, 10)).toThrow(InvalidArgumentError);
    expect(() => phiIndexMap(4, 1)).toThrow(/scaleCount: expected an integer in \[2, Infinity\], got 1/);
    expect(() => phiIndexMap(4, 2.5)).toThrow(InvalidArgumentError);
  });
});
