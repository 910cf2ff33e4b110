import { InvalidArgumentError } from '@nextdetail/core';

/** Which classes to generate: the rows of a grid, each repeated `perClass` times in `labels`. */
export interface ClassSelection {
  rows: { label: number; name: string }[];
  /** One class id per image, row by row. */
  labels: number[];
}

/**
 * Resolves `--class` values (ids or names, matched case-insensitively; "none" asks for the unconditional label
 * `classNames.length`) against a model's class names. No values: every class, in order.
 */
export function selectClasses(values: readonly string[] | undefined, classNames: readonly string[], perClass: number, flag = '--class'): ClassSelection {
  if (!Number.isInteger(perClass) || perClass < 1) throw new InvalidArgumentError('--per-class', 'a positive integer', String(perClass));
  const given = values && values.length > 0 ? values.flatMap((v) => v.split(',')).map((v) => v.trim()) : classNames.map((_, i) => String(i));
  const rows = given.map((value) => {
    if (value.toLowerCase() === 'none') return { label: classNames.length, name: 'unconditional' };
    const id = /^\d+$/.test(value) ? Number(value) : classNames.findIndex((n) => n.toLowerCase() === value.toLowerCase());
    if (id < 0 || id >= classNames.length) {
      const names = classNames.map((n, i) => `${i} ${n}`).join(', ');
      throw new InvalidArgumentError(flag, `a class id or name of this model (${names}) or "none"`, JSON.stringify(value));
    }
    return { label: id, name: classNames[id]! };
  });
  return { rows, labels: rows.flatMap((r) => Array.from({ length: perClass }, () => r.label)) };
}
