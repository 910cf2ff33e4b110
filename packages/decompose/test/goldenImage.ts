// The 24×24 test image of shared/fixtures/eval/README.md (at_golden, edgeaware_golden):
// g[i][j] = 0.2 + 0.6·[j ≥ 12] + 0.05·sin(1.3·i + 0.7·j).
export const GOLDEN_SIZE = 24;

export function goldenImage(): Float64Array<ArrayBuffer> {
  const g = new Float64Array(GOLDEN_SIZE * GOLDEN_SIZE);
  for (let i = 0; i < GOLDEN_SIZE; i++)
    for (let j = 0; j < GOLDEN_SIZE; j++) g[i * GOLDEN_SIZE + j] = 0.2 + 0.6 * (j >= 12 ? 1 : 0) + 0.05 * Math.sin(1.3 * i + 0.7 * j);
  return g;
}

/** Spot keys such as "u[5][12]" → [field, row, column]. */
export function parseSpotKey(key: string): [string, number, number] | null {
  const m = /^(\w*)\[(\d+)\]\[(\d+)\]$/.exec(key);
  return m ? [m[1]!, Number(m[2]), Number(m[3])] : null;
}
