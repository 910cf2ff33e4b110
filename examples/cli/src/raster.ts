import * as tf from '@tensorflow/tfjs';

/**
 * An image on the JavaScript side: rows of interleaved channels, nominally in [0, 1]. Values outside that range
 * (detail layers, float rounding) are kept until a PNG is written, where they are clamped.
 */
export interface Raster {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Float32Array;
}

export function rasterToTensor(raster: Raster): tf.Tensor3D {
  return tf.tensor3d(raster.data, [raster.height, raster.width, raster.channels], 'float32');
}

/** Reads an [H, W, 1|3] tensor back. Always `data()`: `dataSync()` throws on the WebGPU backend in Node. */
export async function rasterFromTensor(tensor: tf.Tensor): Promise<Raster> {
  const [height, width, channels] = tensor.shape as [number, number, number];
  if (channels !== 1 && channels !== 3) throw new Error(`expected 1 or 3 channels, got shape [${tensor.shape}]`);
  return { width, height, channels, data: await tensor.data<'float32'>() };
}
