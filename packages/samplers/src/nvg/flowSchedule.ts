import { checkNumber } from '@nextdetail/core';

/** The line μ(seq_len) through (256, 0.5) and (4096, 1.15) that shifts the flow times toward noise. */
const BASE_SEQ_LEN = 256;
const MAX_SEQ_LEN = 4096;
const BASE_SHIFT = 0.5;
const MAX_SHIFT = 1.15;

/**
 * The N + 1 flow times of the structure sampler, from 1 (noise) to 0 (data): t'_i = linspace(1, 0, N + 1) and
 * t_i = e^μ / (e^μ + (1/t'_i − 1)) with μ = μ(seqLen). Every step is rounded to float32 in the order the reference's
 * float32 tensors compute it (torch.linspace's two-sided fill; `a / x` as reciprocal(x)·a), so the times match its
 * values to the last bit.
 */
// Reference digest §3.3 "Structure path" (times, μ = 0.5 for 256 tokens); FLUX get_schedule / time_shift
export function flowSchedule(steps: number, seqLen: number): Float32Array {
  checkNumber(steps, 'steps', { integer: true, min: 1 });
  checkNumber(seqLen, 'seqLen', { min: 1 });
  const f32 = Math.fround;
  const slope = (MAX_SHIFT - BASE_SHIFT) / (MAX_SEQ_LEN - BASE_SEQ_LEN);
  const mu = slope * seqLen + (BASE_SHIFT - slope * BASE_SEQ_LEN);
  const expMu = f32(Math.exp(mu));
  const count = steps + 1;
  const step = f32(-1 / steps);
  const halfway = Math.floor(count / 2);
  const times = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const linear = i < halfway ? f32(1 + f32(step * i)) : f32(0 - f32(step * (count - i - 1)));
    const odds = f32(f32(1 / linear) - 1);
    times[i] = f32(f32(1 / f32(expMu + odds)) * expMu);
  }
  return times;
}
