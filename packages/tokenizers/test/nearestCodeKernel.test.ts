import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { nearestCodeComposite } from '../src/kernels/nearestCode/composite.js';
import { nearestCodeOp } from '../src/kernels/nearestCode/register.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { normals } from './helpers.js';

/** Both paths' ids for the same inputs, leak-checked. */
async function bothIds(zData: Float32Array, eData: Float32Array, c: number): Promise<[Int32Array, Int32Array]> {
  const z = tf.tensor2d(zData, [zData.length / c, c]);
  const E = tf.tensor2d(eData, [eData.length / c, c]);
  const out = await expectNoLeaks(async () => {
    const fast = nearestCodeOp(z, E);
    const plain = nearestCodeComposite(z, E);
    expect(fast.dtype).toBe('int32');
    expect(fast.shape).toEqual([z.shape[0]]);
    const ids = [(await fast.data()) as Int32Array, (await plain.data()) as Int32Array] as [Int32Array, Int32Array];
    tf.dispose([fast, plain]);
    return ids;
  });
  tf.dispose([z, E]);
  return out;
}

describe(`nearest-code op: backend kernel vs composite [${backendName()}]`, () => {
  // V not a multiple of the kernel's 64-lane workgroup, fewer codes than lanes, one row or many, and more rows than one
  // dispatch dimension holds (65535 workgroups).
  for (const [n, v, c] of [[1, 1, 3], [7, 37, 5], [130, 200, 32], [300, 4096, 8], [70_000, 3, 2]] as const) {
    it(`agree on random rows: N ${n}, V ${v}, C ${c}`, async () => {
      const zData = normals(n * c, 3 * n + v);
      const eData = normals(v * c, 5 * v + c);
      const [fast, plain] = await bothIds(zData, eData, c);
      // Random data may hold a pair of codes closer than float32 rounding; then both ids must be equally near.
      for (let i = 0; i < n; i++) {
        if (fast[i] === plain[i]) continue;
        const d = (k: number) => {
          let s = 0;
          for (let j = 0; j < c; j++) s += (zData[i * c + j]! - eData[k * c + j]!) ** 2;
          return s;
        };
        expect(Math.abs(d(fast[i]!) - d(plain[i]!)), `row ${i}`).toBeLessThan(1e-4 * (1 + d(plain[i]!)));
      }
      expect(fast.filter((id, i) => id !== plain[i]).length).toBeLessThanOrEqual(Math.ceil(n / 100));
    });
  }

  it('agree exactly on exact ties and near-ties, lowest index first', async () => {
    // Small integers keep every distance exact in float32: each code appears three times (tied copies at ids k,
    // k + 67, k + 134), and row i's nearest codes differ from the runner-up by one unit (a near-tie).
    const [v0, c] = [67, 4];
    const base = Array.from({ length: v0 }, (_, k) => [k % 7, (3 * k) % 11, (5 * k) % 13, k % 3]).flat();
    const eData = Float32Array.from([...base, ...base, ...base]);
    const zRows: number[] = [];
    for (let k = 0; k < v0; k++) zRows.push(k % 7, (3 * k) % 11, (5 * k) % 13, (k % 3) + 0.5);
    const zData = Float32Array.from(zRows);
    const [fast, plain] = await bothIds(zData, eData, c);
    expect(Array.from(fast)).toEqual(Array.from(plain));
    // Every row's nearest code is among the first copies, never a later tied copy.
    fast.forEach((id) => expect(id).toBeLessThan(v0));
  });

  it('agree on a 16×16 latent against a 4096-code book (VAR sizes)', async () => {
    const [n, v, c] = [256, 4096, 32];
    const zData = normals(n * c, 41);
    const eData = normals(v * c, 42).map((x) => x * 0.5);
    const [fast, plain] = await bothIds(zData, eData, c);
    expect(fast.filter((id, i) => id !== plain[i]).length).toBeLessThanOrEqual(2);
  });
});
