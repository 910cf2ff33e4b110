import { InvalidArgumentError, describeValue } from '@nextdetail/core';

/** One scale of a coarse-to-fine schedule: a square side `pn` (VAR's patch number) or a grid [h, w]. */
export type ScaleSize = number | readonly [number, number];

/** A schedule resolved to grids [h, w] with each scale's first token index; `length` is L = Σ h·w. */
export interface ScaleLayout {
  sizes: Array<[number, number]>;
  /** begin[si] is the index of scale si's first token in the flattened sequence (row-major inside a scale). */
  begin: number[];
  length: number;
}

function side(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(argument, 'a positive integer', describeValue(value));
  }
  return value;
}

/** Checks and resolves a schedule; the first scale must be 1×1 (the class/start token). */
export function scaleLayout(scales: readonly ScaleSize[], argument = 'patchNums'): ScaleLayout {
  if (!Array.isArray(scales) || scales.length === 0) {
    throw new InvalidArgumentError(argument, 'a non-empty array of sides or [h, w] grids', describeValue(scales));
  }
  const sizes = scales.map((s, i): [number, number] => {
    if (Array.isArray(s)) {
      if (s.length !== 2) throw new InvalidArgumentError(`${argument}[${i}]`, 'a side or an [h, w] pair', describeValue(s));
      return [side(s[0], `${argument}[${i}][0]`), side(s[1], `${argument}[${i}][1]`)];
    }
    const pn = side(s, `${argument}[${i}]`);
    return [pn, pn];
  });
  if (sizes[0]![0] !== 1 || sizes[0]![1] !== 1) {
    throw new InvalidArgumentError(`${argument}[0]`, 'a 1×1 first scale (the start token)', describeValue(scales[0]));
  }
  const begin: number[] = [];
  let length = 0;
  for (const [h, w] of sizes) {
    begin.push(length);
    length += h * w;
  }
  return { sizes, begin, length };
}
