import { checkNumber, type RandomGenerator } from '@nextdetail/core';

// FoundationVision/VAR@78b9539:models/var.py VAR.forward: label ← where(rand < cond_drop_rate, num_classes, label), so
// the model also learns the unconditional distribution used by classifier-free guidance.
/** `labels` with each entry replaced by the unconditional label `numClasses` with probability `rate`. */
export function dropConditions(labels: ArrayLike<number>, numClasses: number, rate: number, rng: RandomGenerator): Int32Array {
  checkNumber(rate, 'rate', { min: 0, max: 1 });
  const u = rng.uniformArray(labels.length);
  return Int32Array.from({ length: labels.length }, (_, i) => (u[i]! < rate ? numClasses : labels[i]!));
}
