// A plain float64 reference of the Ambrosio–Tortorelli scheme (reference-digest §8.2) for one single-channel image,
// written for clarity, not speed: the tfjs implementation is tested against it and it is tested against the golden.

export interface ReferenceOptions {
  alpha: number;
  beta: number;
  epsilon: number;
  iterations: number;
}

type Field = Float64Array<ArrayBuffer>;

function dx(u: Field, h: number, w: number): Field {
  const out = new Float64Array(h * w);
  for (let i = 0; i < h; i++) for (let j = 0; j < w - 1; j++) out[i * w + j] = u[i * w + j + 1]! - u[i * w + j]!;
  return out;
}

function dy(u: Field, h: number, w: number): Field {
  const out = new Float64Array(h * w);
  for (let i = 0; i < h - 1; i++) for (let j = 0; j < w; j++) out[i * w + j] = u[(i + 1) * w + j]! - u[i * w + j]!;
  return out;
}

function dxT(p: Field, h: number, w: number): Field {
  const out = new Float64Array(h * w);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w - 1; j++) {
      out[i * w + j] = out[i * w + j]! - p[i * w + j]!;
      out[i * w + j + 1] = out[i * w + j + 1]! + p[i * w + j]!;
    }
  return out;
}

function dyT(p: Field, h: number, w: number): Field {
  const out = new Float64Array(h * w);
  for (let i = 0; i < h - 1; i++)
    for (let j = 0; j < w; j++) {
      out[i * w + j] = out[i * w + j]! - p[i * w + j]!;
      out[(i + 1) * w + j] = out[(i + 1) * w + j]! + p[i * w + j]!;
    }
  return out;
}

function dot(a: Field, b: Field): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Unpreconditioned CG to a relative residual of 1e-13: slow but exact enough to stand in for a direct solve. */
function cg(apply: (x: Field) => Field, b: Field, x0: Field): Field {
  const x = Float64Array.from(x0);
  const ax = apply(x);
  const r = b.map((bi, i) => bi - ax[i]!);
  const p = Float64Array.from(r);
  let rr = dot(r, r);
  const bb = dot(b, b);
  for (let k = 0; k < 20 * b.length && rr > 1e-26 * bb; k++) {
    const ap = apply(p);
    const alpha = rr / dot(p, ap);
    for (let i = 0; i < x.length; i++) {
      x[i] = x[i]! + alpha * p[i]!;
      r[i] = r[i]! - alpha * ap[i]!;
    }
    const rrNew = dot(r, r);
    const beta = rrNew / rr;
    for (let i = 0; i < p.length; i++) p[i] = r[i]! + beta * p[i]!;
    rr = rrNew;
  }
  return x;
}

export function energy(g: Field, u: Field, v: Field, h: number, w: number, o: ReferenceOptions): number {
  const [ux, uy, vx, vy] = [dx(u, h, w), dy(u, h, w), dx(v, h, w), dy(v, h, w)];
  let e = 0;
  for (let i = 0; i < g.length; i++) {
    const grad2 = ux[i]! ** 2 + uy[i]! ** 2;
    e += (u[i]! - g[i]!) ** 2 + o.alpha * v[i]! ** 2 * grad2;
    e += o.beta * (o.epsilon * (vx[i]! ** 2 + vy[i]! ** 2) + (1 - v[i]!) ** 2 / (4 * o.epsilon));
  }
  return e;
}

export function ambrosioTortorelliReference(
  g: Field,
  h: number,
  w: number,
  o: ReferenceOptions,
): { u: Field; v: Field; energies: number[] } {
  let u = Float64Array.from(g);
  let v = new Float64Array(h * w).fill(1);
  const energies: number[] = [];
  const c = o.beta / (4 * o.epsilon);
  for (let it = 0; it < o.iterations; it++) {
    const ux = dx(u, h, w);
    const uy = dy(u, h, w);
    const diag = ux.map((a, i) => o.alpha * (a * a + uy[i]! ** 2) + c);
    v = cg(
      (x) => {
        const lx = dxT(dx(x, h, w), h, w);
        const ly = dyT(dy(x, h, w), h, w);
        return x.map((xi, i) => diag[i]! * xi + o.beta * o.epsilon * (lx[i]! + ly[i]!));
      },
      new Float64Array(h * w).fill(c),
      v,
    );
    const v2 = v.map((a) => a * a);
    u = cg(
      (x) => {
        const sx = dxT(dx(x, h, w).map((a, i) => a * v2[i]!), h, w);
        const sy = dyT(dy(x, h, w).map((a, i) => a * v2[i]!), h, w);
        return x.map((xi, i) => xi + o.alpha * (sx[i]! + sy[i]!));
      },
      g,
      u,
    );
    energies.push(energy(g, u, v, h, w, o));
  }
  return { u, v, energies };
}
