import { describeValue, InvalidArgumentError } from '@nextdetail/core';

/**
 * Token-map sizes from coarse to fine (VAR's `v_patch_nums`): a side length for a square map, or an [h, w] pair. The
 * last entry is the latent itself.
 */
export type PatchNums = readonly (number | readonly [number, number])[];

/** One [h, w] per scale. */
export type PatchSizes = readonly (readonly [number, number])[];

/**
 * `patchNums` as [h, w] pairs. At least two scales: the reference picks each scale's Phi by si/(SN − 1).
 */
export function toPatchSizes(patchNums: unknown, argument: string): PatchSizes {
  if (!Array.isArray(patchNums) || patchNums.length < 2) {
    throw new InvalidArgumentError(argument, 'an array of at least 2 patch sizes, coarse to fine', describeValue(patchNums));
  }
  return patchNums.map((pn: unknown, si) => toPatchSize(pn, `${argument}[${si}]`));
}

/** One patch size as an [h, w] pair. */
export function toPatchSize(pn: unknown, argument: string): readonly [number, number] {
  const pair = typeof pn === 'number' ? [pn, pn] : pn;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new InvalidArgumentError(argument, 'a positive integer or an [h, w] pair of them', describeValue(pn));
  }
  return [pair[0] as number, pair[1] as number];
}

export function describePatchSizes(sizes: PatchSizes): string {
  return `(${sizes.map(([h, w]) => (h === w ? `${h}` : `${h}×${w}`)).join(', ')})`;
}
