import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, ShapeError } from '@nextdetail/core';
import { guidedLogits } from '../guidance/guidedLogits.js';
import { twice, withUnconditional } from './unconditionalBatch.js';
import { flowSchedule } from './flowSchedule.js';
import type { NvgNetworks } from './nvgNetworks.js';

export interface StructureFlowInput {
  /** The canvas after this stage's tokens, float32 [B, P, C]. */
  canvas_BPC: tf.Tensor;
  /** The stage's structure code int32 [B, P, W] (structureBits of its label map: 0/2 known, 1 unknown). */
  bits_BPW: tf.Tensor;
  classLabels_B: tf.Tensor;
  stage: number;
  /** ε float32 [B, P, W], drawn once per image and reused at every stage. */
  noise_BPW: tf.Tensor;
  /** Euler steps N. */
  steps: number;
  /** CFG scale, or null for the conditional branch alone. */
  cfgScale: number | null;
}

/**
 * Generates the full structure code of the next stages by rectified flow: z starts as the known bits (centred to
 * ±1) with ε in the unknown channels, then N Euler steps z ← z + (t_next − t)·v along flowSchedule(N, P), v from the
 * structure generator (guided as v_u + cfg·(v_c − v_u)), with the known channels reset after every step (structure
 * "inpainting"). Returns z float32 [B, P, W]; channel `stage` scores the next split. The caller owns the result.
 */
// NVG paper §2.2.1 (Eq. 1–2, structure inpainting, v-prediction); reference digest §3.3 "Structure path"
export async function sampleStructureCode(networks: NvgNetworks, input: StructureFlowInput): Promise<tf.Tensor> {
  const { canvas_BPC, bits_BPW, classLabels_B, stage, noise_BPW, steps, cfgScale } = input;
  const c = networks.config;
  checkNumber(stage, 'stage', { integer: true, min: 0, max: c.structureStages - 1 });
  checkNumber(steps, 'steps', { integer: true, min: 1 });
  if (cfgScale !== null) checkNumber(cfgScale, 'cfgScale');
  checkTensor(bits_BPW, 'bits_BPW', { rank: 3, dtype: 'int32' });
  checkTensor(noise_BPW, 'noise_BPW', { rank: 3, dtype: 'float32' });
  if (noise_BPW.shape.some((d, i) => d !== bits_BPW.shape[i])) {
    throw new ShapeError('noise_BPW', `the shape of bits_BPW, ${describeShape(bits_BPW.shape)}`, describeShape(noise_BPW.shape));
  }
  const width = c.structureBits;
  const known_W = tf.tensor1d(Array.from({ length: width }, (_, w) => (w < stage ? 1 : 0)), 'float32');
  const [sv_BPW, unknownNoise_BPW] = tf.tidy(() => {
    const sv = tf.sub(tf.cast(bits_BPW, 'float32'), 1);
    return [sv, tf.mul(noise_BPW, tf.sub(1, known_W))];
  });
  const guided = cfgScale !== null;
  const [classes, canvas, bits] = guided
    ? [withUnconditional(classLabels_B, c.numClasses), twice(canvas_BPC), twice(bits_BPW)]
    : [classLabels_B, canvas_BPC, bits_BPW];
  const rope = await networks.structureRope(bits);
  const times = flowSchedule(steps, c.positions);
  let z_BPW = tf.tidy(() => tf.add(tf.mul(sv_BPW, known_W), unknownNoise_BPW));
  try {
    for (let i = 0; i < steps; i++) {
      const t = times[i]!;
      const dt = Math.fround(times[i + 1]! - t);
      const next = tf.tidy(() => {
        const z = guided ? twice(z_BPW) : z_BPW;
        const v = networks.structure.apply({ z_BPW: z, canvas_BPC: canvas, classLabels_B: classes, stage, t, rope });
        const stepped = tf.add(z_BPW, tf.mul(guided ? guidedLogits(v, cfgScale, 'plain') : v, dt));
        return tf.add(tf.mul(stepped, tf.sub(1, known_W)), tf.mul(sv_BPW, known_W));
      });
      z_BPW.dispose();
      z_BPW = next;
      // CPU-side backends run every op synchronously: yield between steps so that a page (or a test runner) stays
      // responsive during a long flow.
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
    return z_BPW;
  } catch (err) {
    z_BPW.dispose();
    throw err;
  } finally {
    tf.dispose([known_W, sv_BPW, unknownNoise_BPW, rope]);
    if (guided) tf.dispose([classes, canvas, bits]);
  }
}
