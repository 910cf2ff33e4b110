// Times the Fréchet distance of two random d×d covariances (d = 2048 by default: FID-Inception's pool3) and prints
// JSON lines. Run after `npm run build` (the "bench" script does both). When Debian's python3-scipy is present the
// same matrices go through scipy.linalg.sqrtm (pytorch-fid's route) for a timing and value comparison.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frechetTerms, wasmSimdAvailable } from '../dist/index.js';

const sizes = (process.argv[2] ?? '512,1024,2048').split(',').map(Number);

// Deterministic uniform numbers (mulberry32).
function uniforms(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A random covariance D + B·Bᵀ/k (B is d×k Gaussian-ish, D a positive diagonal): full rank with a spread spectrum,
// cheap to build (d²k) next to the d³ being timed.
function randomCovariance(d, seed, k = 96) {
  const u = uniforms(seed);
  const b = Float64Array.from({ length: d * k }, () => u() + u() + u() - 1.5);
  const s = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let t = 0;
      for (let r = 0; r < k; r++) t += b[i * k + r] * b[j * k + r];
      s[i * d + j] = t / k;
      s[j * d + i] = t / k;
    }
    s[i * d + i] += 0.05 + u();
  }
  return s;
}

function scipyAvailable() {
  return spawnSync('python3', ['-c', 'import scipy.linalg, numpy'], { encoding: 'utf8' }).status === 0;
}

const withScipy = scipyAvailable();
for (const d of sizes) {
  const a = { mu: Float64Array.from({ length: d }, (_, i) => Math.sin(i)), sigma: randomCovariance(d, 1), count: 0 };
  const b = { mu: Float64Array.from({ length: d }, (_, i) => Math.cos(i)), sigma: randomCovariance(d, 2), count: 0 };
  const t0 = performance.now();
  const terms = frechetTerms(a, b);
  const seconds = (performance.now() - t0) / 1000;
  const line = { bench: 'frechet', d, seconds: Number(seconds.toFixed(3)), fid: terms.fid, simd: wasmSimdAvailable() };
  if (withScipy) {
    const dir = mkdtempSync(join(tmpdir(), 'frechet-bench-'));
    try {
      for (const [name, s] of [['mu1', a.mu], ['s1', a.sigma], ['mu2', b.mu], ['s2', b.sigma]]) writeFileSync(join(dir, name), Buffer.from(s.buffer));
      const script = `
import numpy as np, scipy.linalg as sl, time, json, sys
d = ${d}; p = sys.argv[1]
mu1, mu2 = (np.fromfile(p + '/' + n) for n in ('mu1', 'mu2'))
s1, s2 = (np.fromfile(p + '/' + n).reshape(d, d) for n in ('s1', 's2'))
t = time.time()
covmean, _ = sl.sqrtm(s1.dot(s2), disp=False)
fid = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))
print(json.dumps({'seconds': time.time() - t, 'fid': fid}))`;
      const r = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
      if (r.status === 0) {
        const scipy = JSON.parse(r.stdout.trim());
        Object.assign(line, { scipySeconds: Number(scipy.seconds.toFixed(3)), scipyFid: scipy.fid, relativeDifference: Math.abs(scipy.fid - terms.fid) / Math.abs(scipy.fid) });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(JSON.stringify(line));
}
