import { describeValue } from '@nextdetail/core';
import { STRUCTURE_SOURCES, type StructureSource } from '../nvg/predictedStructure.js';

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
  /** NVG only: where the next structure maps come from (the flow or the content generator's prediction). */
  structureSource?: StructureSource;
  /** NVG only: re-splits of every predicted map by the next stage's prediction. */
  structureRefinements?: number;
  /** NVG only: the structure CFG ramp [first stage, last stage] (of the flow, or of the prediction that splits). */
  structureCfg?: [number, number];
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

const CHECKS: Record<keyof PipelineSampling, { expected: string; ok: (v: unknown) => boolean }> = {
  cfg: { expected: 'a number ≥ 0', ok: (v) => isNumber(v) && v >= 0 },
  topK: { expected: 'an integer ≥ 0', ok: (v) => isNumber(v) && Number.isInteger(v) && v >= 0 },
  topP: { expected: 'a number in [0, 1]', ok: (v) => isNumber(v) && v >= 0 && v <= 1 },
  temperature: { expected: 'a number > 0', ok: (v) => isNumber(v) && v > 0 },
  structureSteps: { expected: 'an integer ≥ 1', ok: (v) => isNumber(v) && Number.isInteger(v) && v >= 1 },
  structureSource: { expected: STRUCTURE_SOURCES.map((x) => JSON.stringify(x)).join(' or '), ok: (v) => STRUCTURE_SOURCES.includes(v as StructureSource) },
  structureRefinements: { expected: 'an integer ≥ 0', ok: (v) => isNumber(v) && Number.isInteger(v) && v >= 0 },
  structureCfg: { expected: '[start, end], two numbers ≥ 0', ok: (v) => Array.isArray(v) && v.length === 2 && v.every((x) => isNumber(x) && x >= 0) },
};

const NVG_ONLY: readonly string[] = ['structureSteps', 'structureSource', 'structureRefinements', 'structureCfg'];

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
    if (!check.ok(value)) return { at: `sampling.${key}`, expected: check.expected, actual: describeValue(value) };
    if (NVG_ONLY.includes(key) && method !== 'nvg') return { at: `sampling.${key}`, expected: 'only in an NVG pipeline', actual: `a ${method} pipeline` };
  }
  return undefined;
}
