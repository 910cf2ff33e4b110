import { checkNumber } from '@nextdetail/core';

/**
 * NVG's top-p per stage (paper §2.2: from the full codebook down to the most confident candidates "at a logarithmic
 * rate"; digest §3.4 lists the released values for 9 stages, 1.0 → 0.5). The released sequence is
 * start + (end − start)·(b^(i/(n−1)) − 1)/(b − 1) with b = n − 1 = 8; we keep that base for every stage count so that
 * 9 stages reproduce the released values exactly and other counts decay at the same relative rate.
 */
export function nvgTopPSchedule(stages: number, start = 1.0, end = 0.5): number[] {
  checkNumber(stages, 'stages', { min: 1, integer: true });
  checkNumber(start, 'start', { min: 0, max: 1 });
  checkNumber(end, 'end', { min: 0, max: 1 });
  if (stages === 1) return [start];
  const base = 8;
  return Array.from({ length: stages }, (_, i) =>
    i === stages - 1 ? end : start + ((end - start) * (base ** (i / (stages - 1)) - 1)) / (base - 1),
  );
}
