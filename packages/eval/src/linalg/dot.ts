import { activeArena } from './wasmKernels.js';

// Below this length a call into WebAssembly costs more than it saves.
const WASM_MIN_LENGTH = 16;

/**
 * Σ a[aOff + t]·b[bOff + t] for t < length: the SIMD kernel when both arrays live in the active F64Arena, else four
 * partial sums in JavaScript (which break the floating-point add chain that otherwise bounds the loop's speed).
 */
export function dot(a: Float64Array, aOff: number, b: Float64Array, bOff: number, length: number): number {
  const arena = activeArena;
  if (arena !== null && length >= WASM_MIN_LENGTH && a.buffer === arena.buffer && b.buffer === arena.buffer) {
    return arena.kernels!.dot(a.byteOffset + aOff * 8, b.byteOffset + bOff * 8, length);
  }
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

/**
 * The four products of rows a0, a1 with rows b0, b1 (offsets into `a` and `b`, `length` terms) into out[0..3] =
 * a0·b0, a0·b1, a1·b0, a1·b1: each loaded element serves two products.
 */
export function dot2x2(a: Float64Array, a0: number, a1: number, b: Float64Array, b0: number, b1: number, length: number, out: Float64Array): void {
  const arena = activeArena;
  if (arena !== null && length >= WASM_MIN_LENGTH && a.buffer === arena.buffer && b.buffer === arena.buffer) {
    const base = a.byteOffset;
    const bBase = b.byteOffset;
    arena.kernels!.dot2x2(base + a0 * 8, base + a1 * 8, bBase + b0 * 8, bBase + b1 * 8, length, arena.scratchPointer);
    out[0] = arena.scratch[0]!;
    out[1] = arena.scratch[1]!;
    out[2] = arena.scratch[2]!;
    out[3] = arena.scratch[3]!;
    return;
  }
  let c00 = 0;
  let c01 = 0;
  let c10 = 0;
  let c11 = 0;
  for (let t = 0; t < length; t++) {
    const x0 = a[a0 + t]!;
    const x1 = a[a1 + t]!;
    const y0 = b[b0 + t]!;
    const y1 = b[b1 + t]!;
    c00 += x0 * y0;
    c01 += x0 * y1;
    c10 += x1 * y0;
    c11 += x1 * y1;
  }
  out[0] = c00;
  out[1] = c01;
  out[2] = c10;
  out[3] = c11;
}
