import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, type RandomGenerator } from '@nextdetail/core';

/**
 * `count` images [count, size, size, 3] in [−1, 1] of simple shapes drawn from `rng`: a flat background and one
 * axis-aligned rectangle and one disc, each of a random colour, position and size. A learning signal for tests and
 * demos: reproducible from the seed and easy enough for a tiny tokenizer to reconstruct within minutes on a CPU.
 */
export function syntheticShapes(rng: RandomGenerator, count: number, size: number): tf.Tensor4D {
  checkNumber(count, 'count', { integer: true, min: 1 });
  checkNumber(size, 'size', { integer: true, min: 4 });
  const pixels = new Float32Array(count * size * size * 3);
  for (let n = 0; n < count; n++) {
    const u = rng.uniformArray(16);
    const colour = (k: number) => [2 * u[k]! - 1, 2 * u[k + 1]! - 1, 2 * u[k + 2]! - 1];
    const [background, rectangle, disc] = [colour(0), colour(3), colour(6)];
    const [x0, y0] = [Math.floor(u[9]! * size * 0.6), Math.floor(u[10]! * size * 0.6)];
    const [w, h] = [Math.max(2, Math.floor(size * (0.2 + 0.4 * u[11]!))), Math.max(2, Math.floor(size * (0.2 + 0.4 * u[12]!)))];
    const [cx, cy, r] = [u[13]! * size, u[14]! * size, size * (0.15 + 0.2 * u[15]!)];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let c = background;
        if (x >= x0 && x < x0 + w && y >= y0 && y < y0 + h) c = rectangle;
        if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) c = disc;
        pixels.set(c, ((n * size + y) * size + x) * 3);
      }
    }
  }
  return tf.tensor4d(pixels, [count, size, size, 3]);
}
