// A four-class toy dataset that the tiny trained models of test/assets learn in minutes, and the rule that tells a
// generated image's class. It has no runtime imports so that scripts/train-tiny-models.mjs can load this very file
// (transpiled) and train on exactly what the tests check against.

/** The draws the dataset needs: core's RandomGenerator provides them. */
export interface UniformSource {
  uniformArray(n: number): Float32Array;
}

export const SHAPE_CLASSES = ['red disc', 'green square', 'blue horizontal bar', 'yellow vertical bar'] as const;

/** Each class's colour (RGB in [−1, 1]); every image's shape colour is its class colour ± 0.1 per channel. */
export const SHAPE_COLOURS: readonly (readonly [number, number, number])[] = [
  [0.9, -0.5, -0.5],
  [-0.5, 0.9, -0.5],
  [-0.5, -0.5, 0.9],
  [0.9, 0.9, -0.5],
];

/** Side of the square images. */
export const SHAPE_IMAGE_SIZE = 8;

/**
 * A pixel belongs to the shape when its brightest channel exceeds this: backgrounds stay at −0.7 or below, and a shape
 * pixel blurred halfway into the background still passes (its mean colour stays nearest its class colour).
 */
const FOREGROUND_THRESHOLD = -0.4;
/** The class rule needs at least this many shape pixels; fewer means "no shape", which is no class. */
const MIN_FOREGROUND_PIXELS = 2;

export interface ShapesBatch {
  /** NHWC pixels in [−1, 1], [count, 8, 8, 3] row-major. */
  pixels: Float32Array;
  /** Class of every image in [0, 4): image i is class i mod 4. */
  labels: Int32Array;
  shape: [number, number, number, number];
}

/**
 * `count` 8×8 images: a dark grey background (level −0.9 … −0.7) and one shape of its class — a disc (radius 2 … 3),
 * a square (side 4 … 6), a horizontal bar (2 or 3 × 6 … 8) or a vertical bar (its transpose) — at a random position
 * within a pixel or so of the centre (few enough variations for a tiny tokenizer to learn in a hundred steps).
 */
export function shapesDataset(rng: UniformSource, count: number): ShapesBatch {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const S = SHAPE_IMAGE_SIZE;
  const pixels = new Float32Array(count * S * S * 3);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const label = n % SHAPE_COLOURS.length;
    labels[n] = label;
    const u = rng.uniformArray(8);
    const background = -0.9 + 0.2 * u[0]!;
    const colour = SHAPE_COLOURS[label]!.map((c, k) => c + 0.2 * (u[1 + k]! - 0.5));
    const inside = shapeMask(label, u[4]!, u[5]!, u[6]!, u[7]!);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const at = ((n * S + y) * S + x) * 3;
        if (inside(x, y)) pixels.set(colour, at);
        else pixels.fill(background, at, at + 3);
      }
    }
  }
  return { pixels, labels, shape: [count, S, S, 3] };
}

/** The pixel test of one shape from four uniform draws: its size, then its offset from the centre (kept inside). */
function shapeMask(label: number, a: number, b: number, px: number, py: number): (x: number, y: number) => boolean {
  const S = SHAPE_IMAGE_SIZE;
  if (label === 0) {
    const r = 2 + a;
    const [cx, cy] = [S / 2 + 2 * px - 1, S / 2 + 2 * py - 1];
    return (x, y) => (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r;
  }
  const [w, h] =
    label === 1
      ? [4 + Math.floor(3 * a), 4 + Math.floor(3 * a)]
      : label === 2
        ? [6 + Math.floor(3 * a), 2 + Math.floor(2 * b)]
        : [2 + Math.floor(2 * b), 6 + Math.floor(3 * a)];
  const [x0, y0] = [Math.max(0, Math.min(S - w, Math.floor((S - w) / 2 + 3 * px - 1))), Math.max(0, Math.min(S - h, Math.floor((S - h) / 2 + 3 * py - 1)))];
  return (x, y) => x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;
}

/**
 * The class of one image [8·8·3] (HWC, [−1, 1]) by its colour: the mean colour of its shape pixels (brightest
 * channel above −0.4) matched to the nearest class colour; −1 when the image shows no shape (fewer than 2 such pixels).
 */
export function shapeClassOf(pixels_HWC: ArrayLike<number>): number {
  let [r, g, b, count] = [0, 0, 0, 0];
  for (let i = 0; i < pixels_HWC.length; i += 3) {
    const rgb = [pixels_HWC[i]!, pixels_HWC[i + 1]!, pixels_HWC[i + 2]!] as const;
    if (Math.max(...rgb) <= FOREGROUND_THRESHOLD) continue;
    [r, g, b, count] = [r + rgb[0], g + rgb[1], b + rgb[2], count + 1];
  }
  if (count < MIN_FOREGROUND_PIXELS) return -1;
  const mean = [r / count, g / count, b / count] as const;
  const distances = SHAPE_COLOURS.map((c) => c.reduce((d, v, k) => d + (v - mean[k]!) ** 2, 0));
  return distances.indexOf(Math.min(...distances));
}
