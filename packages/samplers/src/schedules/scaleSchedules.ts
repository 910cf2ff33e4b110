import { checkNumber, InvalidArgumentError, describeValue } from '@nextdetail/core';

/** A step's token grid [h, w]. */
export type ScaleSize = readonly [number, number];

/** VAR's released schedules (models/__init__.py build_vae_var): side lengths of the square token maps per step. */
export const VAR_PATCH_NUMS = {
  256: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
  512: [1, 2, 3, 4, 6, 9, 13, 18, 24, 32],
} as const satisfies Record<number, readonly number[]>;

/** FlexVAR paper, appendix Table 7: scale lists by resolution and step count. */
export const FLEXVAR_PAPER_SCHEDULES = {
  256: {
    6: [1, 2, 4, 6, 10, 16],
    7: [1, 2, 3, 5, 8, 11, 16],
    8: [1, 2, 3, 4, 6, 10, 13, 16],
    9: [1, 2, 3, 4, 5, 7, 10, 13, 16],
    10: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
    11: [1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 16],
    12: [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16],
    13: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16],
  },
  384: { 11: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 24] },
  512: {
    12: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 23, 32],
    15: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 23, 32],
  },
} as const satisfies Record<number, Record<number, readonly number[]>>;

/**
 * The schedules FlexVAR's evaluation script actually runs (jiaosiyu1999/FlexVAR scripts/evaluate_c2i.sh, digest §2.6);
 * the 8-step entry differs from the paper's table and a 14-step one exists only here.
 */
export const FLEXVAR_SCRIPT_SCHEDULES = {
  256: {
    6: [1, 2, 4, 6, 10, 16],
    8: [1, 2, 3, 5, 7, 10, 13, 16],
    9: [1, 2, 3, 4, 5, 7, 10, 13, 16],
    10: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
    11: [1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 16],
    12: [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16],
    13: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16],
    14: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16],
  },
  512: { 15: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 23, 32] },
} as const satisfies Record<number, Record<number, readonly number[]>>;

/** Square sides → [h, w] pairs. */
export function squareSchedule(patchNums: readonly number[]): ScaleSize[] {
  if (!Array.isArray(patchNums) || patchNums.length === 0) {
    throw new InvalidArgumentError('patchNums', 'a non-empty array of positive integers', describeValue(patchNums));
  }
  return patchNums.map((pn, i) => {
    checkNumber(pn, `patchNums[${i}]`, { min: 1, integer: true });
    return [pn, pn] as const;
  });
}

/**
 * A coarse-to-fine schedule of `steps` token grids ending at [height, width] (latent sizes, any aspect ratio), for
 * models that accept any scale list (FlexVAR, and VAR-style models trained on the resulting list). The long side grows
 * roughly geometrically from 1 but by at least one per step, the way VAR's and FlexVAR's hand-made lists do (dense
 * steps while maps are small, larger jumps near the end); the short side follows the aspect ratio and is at least 1.
 * Every step's grid is strictly larger than the previous one on the long side.
 */
export function scaleSchedule(height: number, width: number, steps: number): ScaleSize[] {
  checkNumber(height, 'height', { min: 1, integer: true });
  checkNumber(width, 'width', { min: 1, integer: true });
  const long = Math.max(height, width);
  checkNumber(steps, 'steps', { min: 1, max: long, integer: true });
  const sides: number[] = [];
  for (let i = 0; i < steps; i++) {
    if (i === steps - 1) {
      sides.push(long);
      continue;
    }
    const geometric = Math.round(long ** (i / (steps - 1)));
    const atLeast = i === 0 ? 1 : sides[i - 1]! + 1;
    const roomLeft = long - (steps - 1 - i);
    sides.push(Math.min(Math.max(geometric, atLeast), roomLeft));
  }
  return sides.map((s) => {
    if (s === long) return [height, width] as const;
    const h = height === long ? s : Math.max(1, Math.round((s * height) / long));
    const w = width === long ? s : Math.max(1, Math.round((s * width) / long));
    return [h, w] as const;
  });
}
