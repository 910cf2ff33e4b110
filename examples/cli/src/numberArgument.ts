import { InvalidArgumentError } from 'commander';

/**
 * Commander parser for numeric flags. It only checks that the text is a number; ranges and integrality are left to
 * the library, which knows them and reports them under the flag's name (see renameArgument).
 */
export function numberArgument(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) throw new InvalidArgumentError('not a number.');
  return value;
}
