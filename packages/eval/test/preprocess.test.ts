import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { resampleWeights } from '@nextdetail/core';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { INCEPTION_SIZE, pilBicubicWeights, preprocessForInception } from '../src/index.js';
import { thrown } from './goldenInputs.js';

function keys(t: number): number {
  const x = Math.abs(t);
  return x < 1 ? 1.5 * x ** 3 - 2.5 * x ** 2 + 1 : x < 2 ? -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2 : 0;
}

describe('PIL bicubic weights (clean-fid)', () => {
  it('rows sum to 1; n → n is the identity; upsampling uses the a = −0.5 cubic at half-pixel centres', () => {
    for (const [i, o] of [[32, 299], [512, 299], [7, 3]] as const) {
      const w = pilBicubicWeights(i, o);
      for (let r = 0; r < o; r++) {
        let s = 0;
        for (let c = 0; c < i; c++) s += w[r * i + c]!;
        expect(Math.abs(s - 1)).toBeLessThan(1e-6);
      }
    }
    const id = pilBicubicWeights(5, 5);
    for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) expect(id[r * 5 + c]).toBeCloseTo(r === c ? 1 : 0, 7);
    // Output 3 of 10 → 20 is centred at (3 + ½)·½ = 1.75; input pixel t sits at t + ½: taps 0…3 at distances 1.25,
    // 0.25, 0.75, 1.75.
    const up = pilBicubicWeights(10, 20);
    const expected = [1.25, 0.25, 0.75, 1.75].map(keys);
    const total = expected.reduce((a, b) => a + b, 0);
    expected.forEach((e, c) => expect(up[3 * 10 + c]).toBeCloseTo(e / total, 6));
  });

  it('shrinking widens the kernel by the scale (antialiasing): 4 → 1 per output spans 16 taps', () => {
    const w = pilBicubicWeights(64, 16);
    const row = Array.from(w.subarray(8 * 64, 9 * 64));
    expect(row.filter((v) => v !== 0).length).toBeGreaterThanOrEqual(14);
    // Output 8 is centred at 8.5·4 = 34: pixel t weighs keys((t + ½ − 34)/4) before normalisation.
    expect(row[34]! / row[32]!).toBeCloseTo(keys(0.5 / 4) / keys(1.5 / 4), 6);
  });
});

describe(`preprocessForInception (${backendName()})`, () => {
  const images = () => tf.tidy(() => tf.mul(tf.add(tf.sin(tf.reshape(tf.range(0, 2 * 20 * 24 * 3), [2, 20, 24, 3])), 1), 127.5) as tf.Tensor4D);

  it('tf1 is TF1 bilinear then (x − 128)/128; pytorch-fid is half-pixel bilinear of x/255 then 2x − 1', async () => {
    const x = images();
    const [tf1, pt, clean] = await expectNoLeaks(async () => {
      const outs = (['tf1', 'pytorch-fid', 'clean-fid'] as const).map((m) => preprocessForInception(x, m));
      const values = await Promise.all(outs.map((o) => o.data()));
      outs.forEach((o) => expect(o.shape).toEqual([2, INCEPTION_SIZE, INCEPTION_SIZE, 3]));
      tf.dispose(outs);
      return values;
    });
    const xs = await x.data();
    x.dispose();
    // One output pixel by hand from core's weight matrices: image 1, row 100, column 200, channel 2.
    const at = (mode: 'bilinear-tf1' | 'bilinear') => {
      const wh = resampleWeights(mode, 20, INCEPTION_SIZE);
      const ww = resampleWeights(mode, 24, INCEPTION_SIZE);
      let s = 0;
      for (let h = 0; h < 20; h++) for (let w = 0; w < 24; w++) s += wh[100 * 20 + h]! * ww[200 * 24 + w]! * xs[((1 * 20 + h) * 24 + w) * 3 + 2]!;
      return s;
    };
    const index = ((1 * INCEPTION_SIZE + 100) * INCEPTION_SIZE + 200) * 3 + 2;
    expect(tf1![index]).toBeCloseTo((at('bilinear-tf1') - 128) / 128, 5);
    expect(pt![index]).toBeCloseTo((at('bilinear') / 255) * 2 - 1, 5);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of clean!) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(-1.0000001);
    expect(hi).toBeLessThanOrEqual(127 / 128 + 1e-6);
  });

  it('rejects other modes, shapes and dtypes', async () => {
    const x = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
    expect(((await thrown(() => preprocessForInception(x))) as Error).name).toBe('ShapeError');
    const y = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    expect(((await thrown(() => preprocessForInception(y, 'nearest' as never))) as { argument: string }).argument).toBe('preprocess');
    tf.dispose([x, y]);
  });
});
