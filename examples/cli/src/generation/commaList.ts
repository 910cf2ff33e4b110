import { InvalidArgumentError } from 'commander';

/** Commander parser for comma-separated integers such as `--box 4,4,16,8`; counts are checked by the command. */
export function integerList(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^-?\d+$/.test(p))) throw new InvalidArgumentError('not a comma-separated list of integers.');
  return parts.map(Number);
}

/** Commander parser for comma-separated numbers such as `--structure-cfg 3,1`; ranges are checked by the library. */
export function numberList(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '' || Number.isNaN(Number(p)))) throw new InvalidArgumentError('not a comma-separated list of numbers.');
  return parts.map(Number);
}
