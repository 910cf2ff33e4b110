import { InvalidArgumentError } from 'commander';

/** Commander parser for comma-separated integers such as `--box 4,4,16,8`; counts are checked by the command. */
export function integerList(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^-?\d+$/.test(p))) throw new InvalidArgumentError('not a comma-separated list of integers.');
  return parts.map(Number);
}
