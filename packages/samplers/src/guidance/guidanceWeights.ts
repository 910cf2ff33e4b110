import { checkNumber, InvalidArgumentError } from '@nextdetail/core';

/**
 * VAR (models/var.py autoregressive_infer_cfg): t = cfg·si/(SN − 1), so guidance ramps from 0 at the first scale to
 * cfg at the last. A one-scale schedule is its own last scale and gets the full cfg.
 */
export function varGuidance(cfg: number, si: number, steps: number): number {
  checkStep(cfg, si, steps);
  return steps === 1 ? cfg : (cfg * si) / (steps - 1);
}

/**
 * FlexVAR (models/flexvar.py autoregressive_infer_cfg, digest §2.4): the ramp's denominator is capped at 9, so for
 * schedules longer than 10 steps t passes cfg (ratio = si/min(SN − 1, 9)); scales larger than `maxPn` (never seen in
 * training) get t = cfg outright.
 */
export function flexVarGuidance(cfg: number, si: number, steps: number, pn: number, maxPn = 16): number {
  checkStep(cfg, si, steps);
  checkNumber(pn, 'pn', { min: 1, integer: true });
  checkNumber(maxPn, 'maxPn', { min: 1, integer: true });
  if (pn > maxPn) return cfg;
  return steps === 1 ? cfg : (cfg * si) / Math.min(steps - 1, 9);
}

/** n evenly spaced values from start to end inclusive, computed as numpy's linspace does (the last is exactly end). */
export function linspace(start: number, end: number, n: number): number[] {
  checkNumber(start, 'start');
  checkNumber(end, 'end');
  checkNumber(n, 'n', { min: 1, integer: true });
  if (n === 1) return [start];
  const step = (end - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? end : start + i * step));
}

/** NVG (paper §2.2, digest §3.4): per-stage guidance rising linearly, content 1 → 3.5 and structure 1 → 2.5. */
export const NVG_CONTENT_GUIDANCE = { start: 1, end: 3.5 } as const;
export const NVG_STRUCTURE_GUIDANCE = { start: 1, end: 2.5 } as const;

export function nvgGuidance(range: { start: number; end: number }, stages: number): number[] {
  return linspace(range.start, range.end, stages);
}

function checkStep(cfg: number, si: number, steps: number): void {
  checkNumber(cfg, 'cfg');
  checkNumber(steps, 'steps', { min: 1, integer: true });
  checkNumber(si, 'si', { min: 0, max: steps - 1, integer: true });
  if (!Number.isFinite(cfg)) throw new InvalidArgumentError('cfg', 'a finite number', String(cfg));
}
