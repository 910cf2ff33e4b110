import * as tf from '@tensorflow/tfjs';

/** A labelled image set held as bytes: N images of H × W × C, row-major, plus one class id per image. */
export interface LabelledImages {
  images: Uint8Array;
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
}

/** Images `start … start + n − 1` as float32 NHWC in [−1, 1] with 3 channels (grey is repeated), and their labels. */
export function batchTensors(set: LabelledImages, indices: readonly number[]): { images_BHWC: tf.Tensor4D; labels_B: tf.Tensor1D } {
  const { height: H, width: W, channels: C } = set;
  const out = new Float32Array(indices.length * H * W * 3);
  indices.forEach((n, b) => {
    const src = n * H * W * C;
    const dst = b * H * W * 3;
    for (let p = 0; p < H * W; p++) {
      for (let c = 0; c < 3; c++) out[dst + 3 * p + c] = set.images[src + C * p + (C === 1 ? 0 : c)]! / 127.5 - 1;
    }
  });
  return {
    images_BHWC: tf.tensor4d(out, [indices.length, H, W, 3]),
    labels_B: tf.tensor1d(Int32Array.from(indices, (n) => set.labels[n]!), 'int32'),
  };
}
