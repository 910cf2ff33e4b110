import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, InvalidArgumentError, type RandomGenerator, type TensorSource } from '@nextdetail/core';
import { type NvgConfig, nvgParameterShapes } from './nvgConfig.js';

/**
 * A fresh NVGformer state dict for `config`, as a TensorSource for `NvgGenerator.fromStateDict` (prefix ''): weights
 * N(0, 0.05²), QK-norm scales 1, the content start embedding N(0, 1), and the RoPE ids as the released buffer lays
 * them out — the conditioning token all ones; position p of the most nearly square 2^a × 2^b latent grid zeros except
 * its row and column in the last two axes (the structure axes are filled per stage). The S + 1 per-stage scale factors
 * are `scaleFactors` (e.g. 1/RMS of the canvas entering each stage, and of the final one, on training data), else all 1.
 */
export async function nvgInitSource(config: NvgConfig, rng: RandomGenerator, { scaleFactors }: { scaleFactors?: readonly number[] } = {}): Promise<TensorSource> {
  const shapes = nvgParameterShapes(config);
  if (scaleFactors !== undefined) {
    if (!Array.isArray(scaleFactors) || scaleFactors.length !== config.stages + 1) {
      throw new InvalidArgumentError('scaleFactors', `${config.stages + 1} numbers (stages + 1)`, Array.isArray(scaleFactors) ? `${scaleFactors.length} numbers` : typeof scaleFactors);
    }
    scaleFactors.forEach((f, i) => checkNumber(f, `scaleFactors[${i}]`, { min: 0, exclusiveMin: true }));
  }
  const rows = 2 ** Math.floor(Math.log2(config.positions) / 2);
  const cols = config.positions / rows;
  const values = new Map<string, Float32Array>();
  for (const [name, shape] of Object.entries(shapes)) {
    const size = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name === 'rope_ids') {
      const axes = config.ropeAxes;
      data = new Float32Array(size);
      data.fill(1, 0, axes);
      for (let p = 0; p < config.positions; p++) {
        data[(1 + p) * axes + axes - 2] = Math.floor(p / cols);
        data[(1 + p) * axes + axes - 1] = p % cols;
      }
    } else if (name === 'scale_factors' && scaleFactors !== undefined) {
      data = Float32Array.from(scaleFactors);
    } else if (name === 'scale_factors' || name.endsWith('_norm.scale')) {
      data = new Float32Array(size).fill(1);
    } else {
      const t = rng.normal(shape, 0, name === 'content_start_embed' ? 1 : 0.05);
      data = (await t.data()) as Float32Array;
      t.dispose();
    }
    values.set(name, data);
  }
  return {
    keys: () => Object.keys(shapes),
    info: (name) => ({ dtype: 'F32', shape: shapes[name]! }),
    tensor: async (name) => tf.tensor(values.get(name)!, shapes[name]!),
  };
}
