import { checkNumber } from '@nextdetail/core';

/**
 * MT19937 as seeded by numpy's legacy `np.random.RandomState(seed)` with an integer seed (Matsumoto & Nishimura
 * 1998, init_genrand), producing 32-bit outputs.
 */
class Mt19937 {
  private readonly mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1]!;
      this.mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
  }

  nextUint32(): number {
    if (this.index >= 624) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < 624; i++) {
      const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % 624]! & 0x7fffffff);
      mt[i] = mt[(i + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }
}

/**
 * `np.random.RandomState(seed).permutation(n)` exactly (numpy's legacy shuffle: for i = n−1 … 1 swap i with a
 * uniform j ≤ i drawn by masked rejection sampling of 32-bit outputs). torch-fidelity shuffles Inception logits with
 * seed 2020 before cutting the IS splits (toshas/torch-fidelity:torch_fidelity/metric_isc.py).
 */
export function numpyPermutation(n: number, seed: number): Int32Array {
  checkNumber(n, 'n', { integer: true, min: 0, max: 2 ** 31 - 1 });
  checkNumber(seed, 'seed', { integer: true, min: 0, max: 2 ** 32 - 1 });
  const rng = new Mt19937(seed);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i >= 1; i--) {
    let mask = i;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    let j: number;
    do j = (rng.nextUint32() & mask) >>> 0;
    while (j > i);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm;
}
