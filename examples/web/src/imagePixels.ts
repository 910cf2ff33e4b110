import * as tf from '@tensorflow/tfjs';

/** The first image of `images_BHWC` (RGB in [−1, 1]) as canvas pixels, read back without blocking the page. */
export async function imageData(images_BHWC: tf.Tensor4D): Promise<ImageData> {
  const [, h, w] = images_BHWC.shape;
  const rgb_HWC = tf.tidy(() => tf.clipByValue(tf.mul(tf.add(tf.slice(images_BHWC, [0, 0, 0, 0], [1, h, w, 3]), 1), 127.5), 0, 255));
  const rgb = await rgb_HWC.data();
  rgb_HWC.dispose();
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let p = 0; p < w * h; p++) {
    rgba[4 * p] = rgb[3 * p]!;
    rgba[4 * p + 1] = rgb[3 * p + 1]!;
    rgba[4 * p + 2] = rgb[3 * p + 2]!;
    rgba[4 * p + 3] = 255;
  }
  return new ImageData(rgba, w, h);
}

/** Shows `pixels` on `canvas` at their own size (CSS scales the canvas up without smoothing). */
export function paint(canvas: HTMLCanvasElement, pixels: ImageData): void {
  canvas.width = pixels.width;
  canvas.height = pixels.height;
  canvas.getContext('2d')!.putImageData(pixels, 0, 0);
}

/** A canvas's pixels as an image batch float32 [1, H, W, 3] in [−1, 1] (what the tokenizers encode). */
export function canvasImage(canvas: HTMLCanvasElement): tf.Tensor4D {
  const { data, width, height } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
  const rgb = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) rgb[3 * p + c] = data[4 * p + c]! / 127.5 - 1;
  }
  return tf.tensor4d(rgb, [1, height, width, 3]);
}
