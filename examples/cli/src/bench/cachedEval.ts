import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import type { EvalReport } from '../evaluation/evalReport.js';
import { runSubcommand } from './runSubcommand.js';

interface CachedEval {
  /** The arguments, with paths inside the cache file's folder relative to it. */
  args: string[];
  report: EvalReport;
  seconds: number;
}

/**
 * `nextdetail <args>` (an `eval --json`), or the report an earlier run with exactly these arguments left in `file`:
 * generating and scoring 10 000 images is most of the benchmark's time, and several benchmark processes may split
 * the methods between them and leave the table to a last run. Paths inside the file's folder are compared relative
 * to it, so the benchmark folder may be moved or reached from another working directory.
 */
export async function cachedEval(file: string, args: readonly string[]): Promise<{ report: EvalReport; seconds: number }> {
  const folder = dirname(file);
  const key = args.map((a) => (isAbsolute(a) && a.startsWith(folder + sep) ? relative(folder, a) : a));
  if (existsSync(file)) {
    const cached = JSON.parse(await readFile(file, 'utf8')) as CachedEval;
    if (JSON.stringify(cached.args) === JSON.stringify(key)) return cached;
  }
  const started = performance.now();
  const report = JSON.parse(await runSubcommand(args)) as EvalReport;
  const result: CachedEval = { args: key, report, seconds: (performance.now() - started) / 1000 };
  await writeFile(file, `${JSON.stringify(result, null, 1)}\n`);
  return result;
}
