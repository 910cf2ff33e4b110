import { checkNumber, type RandomGenerator } from '@nextdetail/core';
import type { PatchSizes } from '../quantizer/patchNums.js';

/**
 * FlexVAR's multi-scale constraint: K scales per step, the full latent [h, w] and K − 1 distinct smaller ones drawn
 * from `rng`, ascending. A scale of side k (of the longer side S) is [max(1, round(k·h/S)), max(1, round(k·w/S))];
 * when fewer than K − 1 smaller sides exist, all of them are used.
 */
// FlexVAR paper §3.3 ("we then downsample f at K random scales … f_K matches the original resolution") and §4.1 (K = 5)
export function sampleScales(rng: RandomGenerator, count: number, [h, w]: readonly [number, number]): PatchSizes {
  checkNumber(count, 'count', { integer: true, min: 1 });
  const longest = Math.max(h, w);
  const candidates = Array.from({ length: longest - 1 }, (_, i) => i + 1);
  // A partial Fisher–Yates shuffle: the first K − 1 entries are a uniform sample without replacement.
  const picks = Math.min(count - 1, candidates.length);
  const u = rng.uniformArray(picks);
  for (let i = 0; i < picks; i++) {
    const j = i + Math.floor(u[i]! * (candidates.length - i));
    [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
  }
  const sides = [...candidates.slice(0, picks).sort((a, b) => a - b), longest];
  return sides.map((k) => [Math.max(1, Math.round((k * h) / longest)), Math.max(1, Math.round((k * w) / longest))] as const);
}
