import { InvalidArgumentError } from '@nextdetail/core';

/**
 * Library errors name the API argument (`options.order`); a CLI user needs the flag (`--order`). Rethrows `err`
 * under the name `names` gives its argument, keeping its code; other errors pass through unchanged.
 */
export function renameArgument(err: unknown, names: Readonly<Record<string, string>>): unknown {
  if (!(err instanceof InvalidArgumentError)) return err;
  const name = names[err.argument];
  return name === undefined ? err : new InvalidArgumentError(name, err.expected, err.actual, err.code);
}
