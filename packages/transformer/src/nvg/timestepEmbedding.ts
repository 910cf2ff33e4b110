import { checkNumber } from '@nextdetail/core';

const TIME_FACTOR = 1000;
const MAX_PERIOD = 10000;

/**
 * The sinusoidal flow-time embedding [cos(1000·t·f_j) …, sin(1000·t·f_j) …], f_j = exp(−ln(10000)·j/(dim/2)), as
 * float32 values for one time t. Computed on the host with every step rounded to float32 like the reference's float32
 * tensors: the arguments reach 1000 radians, where a GPU's fast cos would lose the low digits.
 */
// Reference digest §3.3 "Structure path" (time_emb); FLUX timestep_embedding with time_factor 1000
export function timestepEmbedding(t: number, dim: number): Float32Array {
  checkNumber(t, 't', { min: 0, max: 1 });
  checkNumber(dim, 'dim', { integer: true, min: 2 });
  const half = Math.floor(dim / 2);
  const f32 = Math.fround;
  const scaled = f32(f32(t) * TIME_FACTOR);
  const out = new Float32Array(dim);
  for (let j = 0; j < half; j++) {
    const freq = f32(Math.exp(f32(f32(f32(-Math.log(MAX_PERIOD)) * j) / half)));
    const arg = f32(scaled * freq);
    out[j] = Math.cos(arg);
    out[half + j] = Math.sin(arg);
  }
  return out;
}
