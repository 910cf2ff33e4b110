import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, InvalidArgumentError, ShapeError } from '@nextdetail/core';

/**
 * Classifier-free guidance over a doubled batch (conditional rows first, then unconditional, as every reference
 * stacks them).
 * - `ramp` (VAR, FlexVAR's default): (1 + t)·cond − t·uncond, with t from `varGuidance`/`flexVarGuidance`.
 * - `plain` (LlamaGen, FlexVAR's `used_llamagen_cfg`, NVG): uncond + w·(cond − uncond).
 * The two agree when w = 1 + t.
 */
export function guidedLogits(logits_2BV: tf.Tensor, weight: number, mode: 'ramp' | 'plain' = 'ramp'): tf.Tensor {
  checkTensor(logits_2BV, 'logits_2BV', { dtype: 'float32' });
  if (logits_2BV.rank < 2 || logits_2BV.shape[0]! % 2 !== 0) {
    throw new ShapeError('logits_2BV', '[2B, …] (conditional rows, then unconditional)', describeShape(logits_2BV.shape));
  }
  checkNumber(weight, 'weight');
  if (mode !== 'ramp' && mode !== 'plain') throw new InvalidArgumentError('mode', '"ramp" or "plain"', JSON.stringify(mode));
  const B = logits_2BV.shape[0]! / 2;
  return tf.tidy(() => {
    const [cond, uncond] = tf.split(logits_2BV, [B, B], 0) as [tf.Tensor, tf.Tensor];
    return mode === 'ramp'
      ? tf.sub(tf.mul(cond, 1 + weight), tf.mul(uncond, weight))
      : tf.add(uncond, tf.mul(tf.sub(cond, uncond), weight));
  });
}
