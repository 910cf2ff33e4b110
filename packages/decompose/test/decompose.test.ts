import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, InvalidArgumentError, ShapeError, ValueRangeError, DTypeError } from '@nextdetail/core';
import { decompose, disposeDecomposition, smooth, type DecomposeOptions } from '@nextdetail/decompose';
import { backendName, expectNoLeaks } from '../../../test/backend.js';

/** A smooth-ish test picture with a hard edge and some texture: [B, H, W, 3] in [0, 1]. */
function picture(b: number, h: number, w: number): tf.Tensor4D {
  return tf.tidy(() => {
    const data = new Float32Array(b * h * w * 3);
    for (let n = 0; n < b; n++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          for (let c = 0; c < 3; c++)
            data[((n * h + i) * w + j) * 3 + c] =
              0.15 + 0.5 * (j > w / 2 + n ? 1 : 0) + 0.1 * c + 0.08 * Math.sin(0.9 * i + 1.7 * j + n);
    return tf.tensor4d(data, [b, h, w, 3]);
  });
}

async function maxAbs(x: tf.Tensor): Promise<number> {
  const m = tf.tidy(() => tf.max(tf.abs(x)));
  const v = (await m.data())[0]!;
  m.dispose();
  return v;
}

const fast: DecomposeOptions = { ambrosioTortorelli: { iterations: 2 } };

describe(`decompose [${backendName()}]`, () => {
  for (const method of ['ambrosio-tortorelli', 'guided-filter'] as const) {
    it(`${method}: I = B_n + ΣD_k to float32 rounding on an odd-sized batch, leak-free`, async () => {
      const image = picture(2, 11, 14);
      await expectNoLeaks(async () => {
        const d = await decompose(image, { ...fast, method, order: 3 });
        expect(d.details).toHaveLength(3);
        expect(d.edges).toHaveLength(3);
        expect(d.base.shape).toEqual([2, 11, 14, 3]);
        for (const t of [...d.details, ...d.edges]) expect(t.shape).toEqual([2, 11, 14, 3]);
        const residual = tf.tidy(() => tf.sub(image, tf.addN([d.base, ...d.details])));
        expect(await maxAbs(residual)).toBeLessThan(4e-7);
        residual.dispose();
        disposeDecomposition(d);
      });
      image.dispose();
    });
  }

  it('smooths: each base has less total variation than the level before, and edges lie in [0, 1]', async () => {
    const image = picture(1, 16, 16);
    const d = await decompose(image, { ...fast, order: 3 });
    const tv = async (x: tf.Tensor) => {
      const t = tf.tidy(() => tf.sum(tf.abs(tf.sub(tf.slice(x, [0, 0, 1, 0], [-1, -1, 15, -1]), tf.slice(x, [0, 0, 0, 0], [-1, -1, 15, -1])))));
      const v = (await t.data())[0]!;
      t.dispose();
      return v;
    };
    let previous = await tv(image);
    let layer = tf.clone(image);
    for (const detail of d.details) {
      const next: tf.Tensor4D = tf.sub(layer, detail);
      layer.dispose();
      layer = next;
      const current = await tv(layer);
      expect(current).toBeLessThan(previous);
      previous = current;
    }
    const baseGap = tf.sub(layer, d.base);
    expect(await maxAbs(baseGap)).toBeLessThan(4e-7);
    baseGap.dispose();
    for (const e of d.edges) {
      const [lo, hi] = await Promise.all([tf.min(e).data(), tf.max(e).data()]);
      expect(lo[0]).toBeGreaterThanOrEqual(0);
      expect(hi[0]).toBeLessThanOrEqual(1 + 1e-6);
    }
    tf.dispose([image, layer]);
    disposeDecomposition(d);
  });

  it('treats batch items independently: a batch gives what each image gives alone', async () => {
    const image = picture(2, 9, 10);
    const together = await decompose(image, { ...fast, order: 1 });
    const second = tf.slice(image, [1, 0, 0, 0], [1, -1, -1, -1]);
    const alone = await decompose(second, { ...fast, order: 1 });
    const diff = tf.tidy(() => tf.sub(tf.slice(together.base, [1, 0, 0, 0], [1, -1, -1, -1]), alone.base));
    expect(await maxAbs(diff)).toBeLessThan(1e-4);
    tf.dispose([image, second, diff]);
    disposeDecomposition(together);
    disposeDecomposition(alone);
  });

  it('keeps the rank and the value range: [H, W, C] bytes in, [H, W, C] bytes out', async () => {
    const unit = picture(1, 8, 9);
    const bytes = tf.tidy(() => tf.squeeze(tf.round(tf.mul(unit, 255)), [0]));
    const asUnit = tf.tidy(() => tf.div(tf.expandDims(bytes, 0), 255));
    const b = await decompose(bytes, { ...fast, order: 2, range: 'byte' });
    const u = await decompose(asUnit, { ...fast, order: 2 });
    expect(b.base.shape).toEqual([8, 9, 3]);
    expect(b.edges[0]!.shape).toEqual([8, 9, 3]);
    const diff = tf.tidy(() => tf.sub(tf.div(b.base, 255), tf.squeeze(u.base, [0])));
    expect(await maxAbs(diff)).toBeLessThan(1e-5);
    tf.dispose([unit, bytes, asUnit, diff]);
    disposeDecomposition(b);
    disposeDecomposition(u);
  });

  it('accepts int32 byte images', async () => {
    const bytes = tf.tidy(() => tf.cast(tf.round(tf.mul(picture(1, 6, 6), 255)), 'int32'));
    const d = await decompose(bytes, { ...fast, order: 1, range: 'byte' });
    expect(d.base.dtype).toBe('float32');
    bytes.dispose();
    disposeDecomposition(d);
  });

  it('order 0 returns the image itself as the base (CART order 0 = VAR)', async () => {
    const image = picture(1, 5, 5);
    const d = await decompose(image, { order: 0 });
    expect(d.details).toEqual([]);
    expect(await maxAbs(tf.sub(d.base, image))).toBe(0);
    tf.dispose([image]);
    disposeDecomposition(d);
  });

  it('treats options given as undefined as their defaults', async () => {
    const image = picture(1, 6, 6);
    const explicit = await decompose(image, {
      order: undefined,
      method: undefined,
      range: undefined,
      ambrosioTortorelli: { alpha: undefined, iterations: 2, solver: { tolerance: undefined } },
    });
    const implicit = await decompose(image, { ambrosioTortorelli: { iterations: 2 } });
    expect(explicit.details).toHaveLength(3);
    const diff = tf.sub(explicit.base, implicit.base);
    expect(await maxAbs(diff)).toBe(0);
    tf.dispose([image, diff]);
    disposeDecomposition(explicit);
    disposeDecomposition(implicit);
  });

  it('reports progress once per level', async () => {
    const image = picture(1, 6, 6);
    const seen: string[] = [];
    const d = await decompose(image, { ...fast, order: 2, progress: (p) => seen.push(`${p.level}/${p.order}`) });
    expect(seen).toEqual(['1/2', '2/2']);
    image.dispose();
    disposeDecomposition(d);
  });

  it('smooth() is one level of decompose()', async () => {
    const image = picture(1, 7, 8);
    const s = await expectNoLeaks(async () => {
      const r = await smooth(image, fast);
      const d = await decompose(image, { ...fast, order: 1 });
      const diff = tf.tidy(() => tf.sub(r.smoothed, d.base));
      const out = await maxAbs(diff);
      tf.dispose([diff, r.smoothed, r.edges]);
      disposeDecomposition(d);
      return out;
    });
    expect(s).toBe(0);
    image.dispose();
  });

  describe('rejects bad input with typed errors and leaks nothing', () => {
    const cases: Array<[string, () => tf.Tensor | unknown, DecomposeOptions, unknown, RegExp]> = [
      ['rank 2', () => tf.zeros([4, 4]), {}, ShapeError, /image: expected rank 3 or 4, got rank 2 \[4, 4\]/],
      ['4 channels', () => tf.zeros([1, 4, 4, 4]), {}, ShapeError, /C = 1 or 3 channels.*\[1, 4, 4, 4\]/],
      ['1×1 image', () => tf.zeros([1, 1, 3]), {}, ShapeError, /height and width ≥ 2/],
      ['bool dtype', () => tf.zeros([4, 4, 3], 'bool'), {}, DTypeError, /dtype float32 or int32, got dtype bool/],
      ['NaN', () => tf.tensor3d([NaN, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [2, 2, 3]), {}, ValueRangeError, /1 NaN or infinite value/],
      ['out of range', () => tf.fill([2, 2, 3], 2), {}, ValueRangeError, /values in \[0, 1\] \(options\.range = "unit"\), got values in \[2, 2\]/],
      ['bytes without range', () => tf.fill([2, 2, 3], 200), {}, ValueRangeError, /options\.range/],
      ['not a tensor', () => [[0]], {}, InvalidArgumentError, /image: expected a tf\.Tensor, got array/],
      ['negative order', () => tf.zeros([2, 2, 3]), { order: -1 }, InvalidArgumentError, /options\.order: expected an integer/],
      ['unknown method', () => tf.zeros([2, 2, 3]), { method: 'bilateral' as never }, InvalidArgumentError, /options\.method/],
      ['unknown range', () => tf.zeros([2, 2, 3]), { range: 'percent' as never }, InvalidArgumentError, /options\.range/],
      ['bad alpha', () => tf.zeros([2, 2, 3]), { ambrosioTortorelli: { alpha: Number.NaN } }, InvalidArgumentError, /options\.ambrosioTortorelli\.alpha/],
      ['guided filter larger than image', () => tf.zeros([3, 3, 3]), { method: 'guided-filter', guidedFilter: { radius: 3 } }, ShapeError, /height and width ≥ 4/],
    ];
    for (const [name, make, options, type, message] of cases) {
      it(name, async () => {
        const input = make();
        await expectNoLeaks(async () => {
          const error = await decompose(input as tf.Tensor, options).then(
            () => null,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(type as never);
          expect(String((error as Error).message)).toMatch(message);
        });
        if (input instanceof tf.Tensor) input.dispose();
      });
    }
  });

  it('typed errors are not confused with backend errors', () => {
    expect(new ShapeError('x', 'a', 'b')).not.toBeInstanceOf(BackendUnavailableError);
  });
});
