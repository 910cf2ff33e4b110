// Hot loops of the float64 linear algebra as a tiny hand-assembled WebAssembly module with 128-bit SIMD (two doubles
// per instruction): V8 does not vectorise JavaScript, and the 2048² Fréchet distance is ~1.5·10¹⁰ multiply-adds.
// Arrays must live in the module's memory (see F64Arena); everything falls back to plain JavaScript where WebAssembly
// SIMD is unavailable.

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32 = (v: number) => [0x41, ...sleb(v)];
const ADD_I32 = 0x6a;
const AND_I32 = 0x71;
const SHL_I32 = 0x74;
const GE_U_I32 = 0x4f;
const F64_ADD = 0xa0;
const F64_SUB = 0xa1;
const F64_MUL = 0xa2;
const f64Load = (offset = 0) => [0x2b, 3, ...uleb(offset)];
const f64Store = (offset = 0) => [0x39, 3, ...uleb(offset)];
const simd = (op: number) => [0xfd, ...uleb(op)];
const vLoad = (offset = 0) => [...simd(0), 3, ...uleb(offset)];
const vStore = (offset = 0) => [...simd(11), 3, ...uleb(offset)];
const SPLAT = simd(20);
const lane = (l: number) => [...simd(33), l];
const VADD = simd(240);
const VSUB = simd(241);
const VMUL = simd(242);
/** block { loop { if cond-bytes (true = exit) break; body; br loop } } */
const whileNot = (exitCond: number[], body: number[]) => [0x02, 0x40, 0x03, 0x40, ...exitCond, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
const hsum = (v: number) => [...get(v), ...lane(0), ...get(v), ...lane(1), F64_ADD];

// dot(a, b, n) → Σ a[t]·b[t] (byte pointers), two v128 accumulators, scalar tail.
function dotBody(): { params: number[]; results: number[]; locals: number[]; code: number[] } {
  const [a, b, n, acc0, acc1, end, tail] = [0, 1, 2, 3, 4, 5, 6];
  const code = [
    ...get(n), ...i32(-4), AND_I32, ...i32(3), SHL_I32, ...get(a), ADD_I32, ...set(end),
    ...whileNot([...get(a), ...get(end), GE_U_I32], [
      ...get(acc0), ...get(a), ...vLoad(), ...get(b), ...vLoad(), ...VMUL, ...VADD, ...set(acc0),
      ...get(acc1), ...get(a), ...vLoad(16), ...get(b), ...vLoad(16), ...VMUL, ...VADD, ...set(acc1),
      ...get(a), ...i32(32), ADD_I32, ...set(a), ...get(b), ...i32(32), ADD_I32, ...set(b),
    ]),
    ...get(n), ...i32(3), AND_I32, ...i32(3), SHL_I32, ...get(a), ADD_I32, ...set(end),
    ...whileNot([...get(a), ...get(end), GE_U_I32], [
      ...get(tail), ...get(a), ...f64Load(), ...get(b), ...f64Load(), F64_MUL, F64_ADD, ...set(tail),
      ...get(a), ...i32(8), ADD_I32, ...set(a), ...get(b), ...i32(8), ADD_I32, ...set(b),
    ]),
    ...get(acc0), ...get(acc1), ...VADD, ...set(acc0), ...hsum(acc0), ...get(tail), F64_ADD,
  ];
  return { params: [I32, I32, I32], results: [F64], locals: [V128, V128, I32, F64], code };
}

// dot2x2(a0, a1, b0, b1, n, out): out[0..3] = a0·b0, a0·b1, a1·b0, a1·b1 — four products per four loads.
function dot2x2Body(): { params: number[]; results: number[]; locals: number[]; code: number[] } {
  const [a0, a1, b0, b1, n, out, c00, c01, c10, c11, x0, x1, y0, y1, i, end, t00, t01, t10, t11] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19] as const;
  const at = (p: number) => [...get(p), ...get(i), ADD_I32];
  const acc = (c: number, x: number, y: number) => [...get(c), ...get(x), ...get(y), ...VMUL, ...VADD, ...set(c)];
  const sacc = (t: number, p: number, q: number) => [...get(t), ...at(p), ...f64Load(), ...at(q), ...f64Load(), F64_MUL, F64_ADD, ...set(t)];
  const code = [
    ...get(n), ...i32(-2), AND_I32, ...i32(3), SHL_I32, ...set(end),
    ...whileNot([...get(i), ...get(end), GE_U_I32], [
      ...at(a0), ...vLoad(), ...set(x0), ...at(a1), ...vLoad(), ...set(x1),
      ...at(b0), ...vLoad(), ...set(y0), ...at(b1), ...vLoad(), ...set(y1),
      ...acc(c00, x0, y0), ...acc(c01, x0, y1), ...acc(c10, x1, y0), ...acc(c11, x1, y1),
      ...get(i), ...i32(16), ADD_I32, ...set(i),
    ]),
    ...get(n), ...i32(3), SHL_I32, ...set(end),
    ...whileNot([...get(i), ...get(end), GE_U_I32], [
      ...sacc(t00, a0, b0), ...sacc(t01, a0, b1), ...sacc(t10, a1, b0), ...sacc(t11, a1, b1),
      ...get(i), ...i32(8), ADD_I32, ...set(i),
    ]),
    ...get(out), ...hsum(c00), ...get(t00), F64_ADD, ...f64Store(0),
    ...get(out), ...hsum(c01), ...get(t01), F64_ADD, ...f64Store(8),
    ...get(out), ...hsum(c10), ...get(t10), F64_ADD, ...f64Store(16),
    ...get(out), ...hsum(c11), ...get(t11), F64_ADD, ...f64Store(24),
  ];
  return { params: [I32, I32, I32, I32, I32, I32], results: [], locals: [V128, V128, V128, V128, V128, V128, V128, V128, I32, I32, F64, F64, F64, F64], code };
}

// sweep(row, vp, wp, v, p, n, vpi, wpi, vi) → Σ a·v: a = row − vpi·wp − wpi·vp is stored back to row, p += a·vi
// (the fused update-and-multiply of one row in tridiagonalize).
function sweepBody(): { params: number[]; results: number[]; locals: number[]; code: number[] } {
  const [row, vp, wp, v, p, n, vpi, wpi, vi, i, end, VPI, WPI, VI, a, s, ts, ta] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17] as const;
  const at = (q: number) => [...get(q), ...get(i), ADD_I32];
  const code = [
    ...get(vpi), ...SPLAT, ...set(VPI), ...get(wpi), ...SPLAT, ...set(WPI), ...get(vi), ...SPLAT, ...set(VI),
    ...get(n), ...i32(-2), AND_I32, ...i32(3), SHL_I32, ...set(end),
    ...whileNot([...get(i), ...get(end), GE_U_I32], [
      ...at(row), ...vLoad(), ...get(VPI), ...at(wp), ...vLoad(), ...VMUL, ...VSUB, ...get(WPI), ...at(vp), ...vLoad(), ...VMUL, ...VSUB, ...set(a),
      ...at(row), ...get(a), ...vStore(),
      ...get(s), ...get(a), ...at(v), ...vLoad(), ...VMUL, ...VADD, ...set(s),
      ...at(p), ...at(p), ...vLoad(), ...get(a), ...get(VI), ...VMUL, ...VADD, ...vStore(),
      ...get(i), ...i32(16), ADD_I32, ...set(i),
    ]),
    ...get(n), ...i32(3), SHL_I32, ...set(end),
    ...whileNot([...get(i), ...get(end), GE_U_I32], [
      ...at(row), ...f64Load(), ...get(vpi), ...at(wp), ...f64Load(), F64_MUL, F64_SUB, ...get(wpi), ...at(vp), ...f64Load(), F64_MUL, F64_SUB, ...set(ta),
      ...at(row), ...get(ta), ...f64Store(),
      ...get(ts), ...get(ta), ...at(v), ...f64Load(), F64_MUL, F64_ADD, ...set(ts),
      ...at(p), ...at(p), ...f64Load(), ...get(ta), ...get(vi), F64_MUL, F64_ADD, ...f64Store(),
      ...get(i), ...i32(8), ADD_I32, ...set(i),
    ]),
    ...hsum(s), ...get(ts), F64_ADD,
  ];
  return { params: [I32, I32, I32, I32, I32, I32, F64, F64, F64], results: [F64], locals: [I32, I32, V128, V128, V128, V128, V128, F64, F64], code };
}

// sweep2: sweep for two rows at once over their common columns; the shared vectors are loaded once for both.
// out[0], out[1] = the two rows' Σ a·v; p += a0·vi0 + a1·vi1.
function sweep2Body(): { params: number[]; results: number[]; locals: number[]; code: number[] } {
  const [row0, row1, vp, wp, v, p, n, vpi0, wpi0, vi0, vpi1, wpi1, vi1, out] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] as const;
  const [i, end, VPI0, WPI0, VI0, VPI1, WPI1, VI1, a0, a1, s0, s1, xvp, xwp, xv, ts0, ts1, ta0, ta1] = [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32] as const;
  const at = (q: number) => [...get(q), ...get(i), ADD_I32];
  const vrow = (row: number, VP: number, WP: number, A: number) => [
    ...at(row), ...vLoad(), ...get(VP), ...get(xwp), ...VMUL, ...VSUB, ...get(WP), ...get(xvp), ...VMUL, ...VSUB, ...set(A),
    ...at(row), ...get(A), ...vStore(),
  ];
  const srow = (row: number, vpiL: number, wpiL: number, A: number) => [
    ...at(row), ...f64Load(), ...get(vpiL), ...at(wp), ...f64Load(), F64_MUL, F64_SUB, ...get(wpiL), ...at(vp), ...f64Load(), F64_MUL, F64_SUB, ...set(A),
    ...at(row), ...get(A), ...f64Store(),
  ];
  const code = [
    ...get(vpi0), ...SPLAT, ...set(VPI0), ...get(wpi0), ...SPLAT, ...set(WPI0), ...get(vi0), ...SPLAT, ...set(VI0),
    ...get(vpi1), ...SPLAT, ...set(VPI1), ...get(wpi1), ...SPLAT, ...set(WPI1), ...get(vi1), ...SPLAT, ...set(VI1),
    ...get(n), ...i32(-2), AND_I32, ...i32(3), SHL_I32, ...set(end),
    ...whileNot([...get(i), ...get(end), GE_U_I32], [
      ...at(vp), ...vLoad(), ...set(xvp), ...at(wp), ...vLoad(), ...set(xwp), ...at(v), ...vLoad(), ...set(xv),
      ...vrow(row0, VPI0, WPI0, a0), ...vrow(row1, VPI1, WPI1, a1),
      ...get(s0), ...get(a0), ...get(xv), ...VMUL, ...VADD, ...set(s0),
      ...get(s1), ...get(a1), ...get(xv), ...VMUL, ...VADD, ...set(s1),
      ...at(p), ...at(p), ...vLoad(), ...get(a0), ...get(VI0), ...VMUL, ...VADD, ...get(a1), ...get(VI1), ...VMUL, ...VADD, ...vStore(),
      ...get(i), ...i32(16), ADD_I32, ...set(i),
    ]),
    ...get(n), ...i32(3), SHL_I32, ...set(end),
    ...whileNot([...get(i), ...get(end), GE_U_I32], [
      ...srow(row0, vpi0, wpi0, ta0), ...srow(row1, vpi1, wpi1, ta1),
      ...get(ts0), ...get(ta0), ...at(v), ...f64Load(), F64_MUL, F64_ADD, ...set(ts0),
      ...get(ts1), ...get(ta1), ...at(v), ...f64Load(), F64_MUL, F64_ADD, ...set(ts1),
      ...at(p), ...at(p), ...f64Load(), ...get(ta0), ...get(vi0), F64_MUL, F64_ADD, ...get(ta1), ...get(vi1), F64_MUL, F64_ADD, ...f64Store(),
      ...get(i), ...i32(8), ADD_I32, ...set(i),
    ]),
    ...get(out), ...hsum(s0), ...get(ts0), F64_ADD, ...f64Store(0),
    ...get(out), ...hsum(s1), ...get(ts1), F64_ADD, ...f64Store(8),
  ];
  return {
    params: [I32, I32, I32, I32, I32, I32, I32, F64, F64, F64, F64, F64, F64, I32],
    results: [],
    locals: [I32, I32, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, F64, F64, F64, F64],
    code,
  };
}

function section(id: number, contents: number[]): number[] {
  return [id, ...uleb(contents.length), ...contents];
}
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => vec([...new TextEncoder().encode(s)].map((b) => [b]));

function moduleBytes(): Uint8Array {
  const fns = [dotBody(), dot2x2Body(), sweepBody(), sweep2Body()];
  const names = ['dot', 'dot2x2', 'sweep', 'sweep2'];
  const types = fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const codes = fns.map((f) => {
    // Runs of equal local types are declared as (count, type) pairs.
    const groups: number[][] = [];
    for (const t of f.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]!++;
      else groups.push([1, t]);
    }
    const body = [...vec(groups.map(([c, t]) => [...uleb(c!), t!])), ...f.code, 0x0b];
    return [...uleb(body.length), ...body];
  });
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vec(fns.map((_, k) => uleb(k)))),
    ...section(7, vec(names.map((n, k) => [...name(n), 0x00, ...uleb(k)]))),
    ...section(10, vec(codes)),
  ]);
}

export interface WasmKernels {
  dot(a: number, b: number, n: number): number;
  dot2x2(a0: number, a1: number, b0: number, b1: number, n: number, out: number): void;
  sweep(row: number, vp: number, wp: number, v: number, p: number, n: number, vpi: number, wpi: number, vi: number): number;
  sweep2(
    row0: number, row1: number, vp: number, wp: number, v: number, p: number, n: number,
    vpi0: number, wpi0: number, vi0: number, vpi1: number, wpi1: number, vi1: number, out: number,
  ): void;
}

let compiled: WebAssembly.Module | null | undefined;

function compiledModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const bytes = moduleBytes() as Uint8Array<ArrayBuffer>;
      compiled = typeof WebAssembly !== 'undefined' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/**
 * Float64 arrays allocated in one WebAssembly memory, sized once up front (growing would detach the views), with the
 * SIMD kernels bound to it. `alloc` falls back to ordinary arrays when WebAssembly SIMD is unavailable.
 */
export class F64Arena {
  readonly buffer: ArrayBufferLike | null;
  readonly kernels: WasmKernels | null;
  private next = 0;
  private scratchPtr = 0;
  readonly scratch: Float64Array;

  constructor(doubles: number) {
    const module = compiledModule();
    if (!module) {
      this.buffer = null;
      this.kernels = null;
      this.scratch = new Float64Array(4);
      return;
    }
    const bytes = (doubles + 8) * 8;
    const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
    this.kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as WasmKernels;
    this.buffer = memory.buffer;
    this.scratch = this.alloc(4);
    this.scratchPtr = this.scratch.byteOffset;
  }

  alloc(length: number): Float64Array {
    if (!this.buffer) return new Float64Array(length);
    const view = new Float64Array(this.buffer, this.next, length);
    this.next += length * 8;
    return view;
  }

  /** The byte pointer of a.subarray(offset) when `a` lives in this arena, else -1. */
  pointer(a: Float64Array, offset: number): number {
    return a.buffer === this.buffer ? a.byteOffset + offset * 8 : -1;
  }

  get scratchPointer(): number {
    return this.scratchPtr;
  }
}

/** The arena whose arrays the kernels may take (set for the duration of one computation). */
export let activeArena: F64Arena | null = null;

export function withArena<T>(arena: F64Arena, fn: () => T): T {
  const previous = activeArena;
  activeArena = arena;
  try {
    return fn();
  } finally {
    activeArena = previous;
  }
}

/** Whether the WebAssembly SIMD kernels run here (else the linear algebra uses plain JavaScript). */
export function wasmSimdAvailable(): boolean {
  return compiledModule() !== null;
}
