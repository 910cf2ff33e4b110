/**
 * Σ a[aOff + t]·b[bOff + t] for t < length. Four partial sums break the floating-point add chain (the loop is latency
 * bound otherwise), which roughly triples throughput in V8; the summation order is fixed, so results are reproducible.
 */
export function dot(a: Float64Array, aOff: number, b: Float64Array, bOff: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t + 3 < length; t += 4) {
    s0 += a[aOff + t]! * b[bOff + t]!;
    s1 += a[aOff + t + 1]! * b[bOff + t + 1]!;
    s2 += a[aOff + t + 2]! * b[bOff + t + 2]!;
    s3 += a[aOff + t + 3]! * b[bOff + t + 3]!;
  }
  for (; t < length; t++) s0 += a[aOff + t]! * b[bOff + t]!;
  return s0 + s1 + (s2 + s3);
}
