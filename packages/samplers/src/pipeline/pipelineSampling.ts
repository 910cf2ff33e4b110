import { describeValue } from '@nextdetail/core';

/**
 * The sampling settings a model's trainer recommends for it, stored in its pipeline file (as transformers.js keeps a
 * generation config beside a model). Apps use them where the user gives none; every field is optional.
 */
export interface PipelineSampling {
  /** The CFG scale (NVG: the last stage's content guidance, the end of its ramp from 1). */
  cfg?: number;
  /** Sample among the k most likely tokens (0: all). */
  topK?: number;
  /** Nucleus mass (0: off; NVG: the last stage's top-p, the end of its curve from 1). */
  topP?: number;
  temperature?: number;
  /** NVG only: Euler steps of the structure flow. */
  structureSteps?: number;
}

const CHECKS: Record<keyof PipelineSampling, { expected: string; ok: (v: number) => boolean }> = {
  cfg: { expected: 'a number ≥ 0', ok: (v) => v >= 0 },
  topK: { expected: 'an integer ≥ 0', ok: (v) => Number.isInteger(v) && v >= 0 },
  topP: { expected: 'a number in [0, 1]', ok: (v) => v >= 0 && v <= 1 },
  temperature: { expected: 'a number > 0', ok: (v) => v > 0 },
  structureSteps: { expected: 'an integer ≥ 1', ok: (v) => Number.isInteger(v) && v >= 1 },
};

/**
 * What is wrong with a file's recommended `sampling` for a `method` model, if anything: `at` is the offending entry
 * ("sampling" or "sampling.<key>").
 */
export function samplingProblem(sampling: unknown, method: string): { at: string; expected: string; actual: string } | undefined {
  if (sampling === null || typeof sampling !== 'object' || Array.isArray(sampling)) {
    return { at: 'sampling', expected: `an object with some of ${Object.keys(CHECKS).join(', ')}`, actual: describeValue(sampling) };
  }
  for (const [key, value] of Object.entries(sampling)) {
    const check = CHECKS[key as keyof PipelineSampling];
    if (check === undefined) return { at: 'sampling', expected: `keys among ${Object.keys(CHECKS).join(', ')}`, actual: JSON.stringify(key) };
    if (typeof value !== 'number' || !Number.isFinite(value) || !check.ok(value)) {
      return { at: `sampling.${key}`, expected: check.expected, actual: describeValue(value) };
    }
    if (key === 'structureSteps' && method !== 'nvg') return { at: 'sampling.structureSteps', expected: 'only in an NVG pipeline', actual: `a ${method} pipeline` };
  }
  return undefined;
}
