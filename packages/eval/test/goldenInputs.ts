// Closed-form inputs of shared/fixtures/eval (see its README): feature matrices A and B, IS logits, P/R point sets.
import type { FeatureMatrix } from '../src/featureMatrix.js';
export { thrown } from '../../../test/errors.js';

export function matrixA(n: number, d: number): FeatureMatrix {
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = Math.sin(0.37 * (i + 1) * (j + 1)) + Math.cos(0.11 * (i + 1) * (j + 1) ** 2);
  return { data, rows: n, dim: d };
}

export function matrixB(n: number, d: number): FeatureMatrix {
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) data[i * d + j] = 0.8 * Math.sin(0.29 * (i + 2) * (j + 1) + 0.5) + Math.cos(0.13 * (i + 1) * (j + 2)) + 0.1 * j;
  }
  return { data, rows: n, dim: d };
}

export function fromRows(rows: number[][]): FeatureMatrix {
  const dim = rows[0]!.length;
  return { data: Float64Array.from(rows.flat()), rows: rows.length, dim };
}

export function relErr(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
}

/** Deterministic N(0, 1) samples (mulberry32 + Box–Muller) as a rows × dim matrix, shifted by `shift`. */
export function gaussianMatrix(rows: number, dim: number, seed: number, shift = 0): FeatureMatrix {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const data = Float64Array.from({ length: rows * dim }, () => shift + Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
  return { data, rows, dim };
}

