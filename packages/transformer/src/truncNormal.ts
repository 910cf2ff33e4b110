import type { RandomGenerator } from '@nextdetail/core';

/**
 * `n` draws of N(0, std²) restricted to [low, high] (torch.nn.init.trunc_normal_'s absolute bounds, default ±2), by
 * Box–Muller on the generator's uniforms with rejection of draws outside the bounds.
 */
export function truncNormalArray(rng: RandomGenerator, n: number, std: number, low = -2, high = 2): Float32Array {
  const out = new Float32Array(n);
  let filled = 0;
  while (filled < n) {
    const need = n - filled;
    const u = rng.uniformArray(2 * Math.ceil(need / 2));
    for (let p = 0; p + 1 < u.length && filled < n; p += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - u[p]!));
      for (const z of [r * Math.cos(2 * Math.PI * u[p + 1]!), r * Math.sin(2 * Math.PI * u[p + 1]!)]) {
        const v = std * z;
        if (filled < n && v >= low && v <= high) out[filled++] = v;
      }
    }
  }
  return out;
}
