import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { guidedFilter, resolveGuidedFilterOptions } from '../src/guidedFilter.js';
import { backendName } from '../../../test/backend.js';
import { fixturePath, readJson } from '../../../test/fixtures.js';
import { GOLDEN_SIZE, goldenImage, parseSpotKey } from './goldenImage.js';

const golden = readJson<Record<string, Record<string, number> | string>>(fixturePath('eval', 'edgeaware_golden.json'));
const N = GOLDEN_SIZE;

describe(`guided filter vs edgeaware_golden.json [${backendName()}]`, () => {
  const entries = Object.entries(golden).filter(([key]) => key.startsWith('guidedFilter_'));
  it('the golden file has guided-filter cases', () => expect(entries.length).toBeGreaterThan(0));

  for (const [key, expected] of entries) {
    it(`matches edgeaware_golden.json ${key}`, async () => {
      const m = /_r(\d+)_eps([\d.e+-]+)/.exec(key)!;
      const options = resolveGuidedFilterOptions({ radius: Number(m[1]), epsilon: Number(m[2]) });
      const g = tf.tensor4d(Float32Array.from(goldenImage()), [1, N, N, 1]);
      const { q, edges } = guidedFilter(g, options);
      const values = await q.data();
      tf.dispose([g, q, edges]);
      const image = goldenImage();
      for (const [spotKey, want] of Object.entries(expected as Record<string, number>)) {
        const spot = parseSpotKey(spotKey);
        if (spot) expect(Math.abs(values[spot[1] * N + spot[2]]! - want), spotKey).toBeLessThan(1e-3);
      }
      const meanAbs = Array.from(values).reduce((s, v, i) => s + Math.abs(image[i]! - v), 0) / values.length;
      expect(Math.abs(meanAbs - (expected as Record<string, number>).mean_abs_detail!)).toBeLessThan(1e-3);
    });
  }

  it('keeps a step edge and flattens texture below epsilon', async () => {
    const g = tf.tensor4d(Float32Array.from(goldenImage()), [1, N, N, 1]);
    const { q, edges } = guidedFilter(g, resolveGuidedFilterOptions({ radius: 3, epsilon: 0.01 }));
    const [qv, ev] = await Promise.all([q.data(), edges.data()]);
    tf.dispose([g, q, edges]);
    expect(qv[5 * N + 12]! - qv[5 * N + 11]!).toBeGreaterThan(0.4);
    expect(ev[5 * N + 11]!).toBeLessThan(0.3);
    expect(ev[12 * N + 3]!).toBeGreaterThan(0.5);
  });
});
