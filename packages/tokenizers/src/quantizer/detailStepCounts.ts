import { checkNumber, describeValue, InvalidArgumentError } from '@nextdetail/core';

/**
 * How many full-resolution token maps each detail factor gets, in the factors' order [D_1, …, D_n].
 *
 * CART Algorithm 1 gives every factor (𝓜 − 𝓑)/n maps. `detailSteps` is either that total 𝓜 − 𝓑, split as evenly as
 * possible, or the count of every factor; left out, each factor gets one map. A total that does not split evenly gives
 * its extra maps to the deepest factors (D_n first): Algorithm 1 visits them first, and they carry the coarser detail.
 */
export function detailStepCounts(
  detailSteps: number | readonly number[] | undefined,
  factorCount: number,
  argument: string,
): number[] {
  if (detailSteps === undefined) return Array.from({ length: factorCount }, () => 1);
  if (typeof detailSteps === 'number') {
    checkNumber(detailSteps, argument, { integer: true, min: 0 });
    if (factorCount === 0 && detailSteps > 0) {
      throw new InvalidArgumentError(argument, '0 detail maps for a decomposition of order 0', `${detailSteps}`);
    }
    const share = Math.floor(detailSteps / Math.max(factorCount, 1));
    const extra = detailSteps - share * factorCount;
    return Array.from({ length: factorCount }, (_, i) => share + (i >= factorCount - extra ? 1 : 0));
  }
  if (!Array.isArray(detailSteps) || detailSteps.length !== factorCount) {
    const expected = `a total count, or one count per detail factor (${factorCount}, [D_1, …, D_n])`;
    throw new InvalidArgumentError(argument, expected, describeValue(detailSteps));
  }
  detailSteps.forEach((count, i) => checkNumber(count, `${argument}[${i}]`, { integer: true, min: 0 }));
  return [...detailSteps];
}
