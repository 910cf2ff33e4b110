import { InvalidArgumentError } from '@nextdetail/core';

/** Counts given on the command line (steps, images, batch sizes) must be whole and at least 1; undefined is "not given". */
export function checkPositiveInteger(value: number | undefined, flag: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new InvalidArgumentError(flag, 'a positive integer', String(value));
}
