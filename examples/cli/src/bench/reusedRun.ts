import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InvalidArgumentError, readSafetensors } from '@nextdetail/core';

/** What `train` and `train-tokenizer` record in their output file's `info.training` (trainingRecord). */
export interface RunRecord {
  command: string;
  wallSeconds: number;
  date: string;
  /** A pipeline's record carries the record of the tokenizer it was trained on. */
  tokenizerTraining?: RunRecord;
}

/** The `--flag value` pairs of a command line that reproduceCommand wrote (values JSON-quoted where they needed it). */
export function commandFlags(command: string): Map<string, string> {
  const words = (command.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []).map((w) => (w.startsWith('"') ? (JSON.parse(w) as string) : w));
  const flags = new Map<string, string>();
  words.forEach((w, i) => {
    if (w.startsWith('--')) flags.set(w, words[i + 1] ?? '');
  });
  return flags;
}

/**
 * The training record of the run that wrote `path` (a tokenizer or pipeline file), refused unless its command had
 * every flag of `expected` with that value (undefined: the flag absent), so that a results table never labels a run
 * with settings it was not trained with.
 */
export async function reusableRunRecord(path: string, expected: Readonly<Record<string, string | undefined>>): Promise<RunRecord> {
  const file = await readSafetensors(new Uint8Array(await readFile(path)));
  let record: RunRecord | undefined;
  try {
    record = (JSON.parse(file.metadata.info ?? '') as { training?: RunRecord }).training;
  } catch {
    record = undefined;
  } finally {
    await file.close();
  }
  if (typeof record?.command !== 'string') {
    throw new InvalidArgumentError('--out', 'finished runs whose files record their training command', `${path} without one`);
  }
  checkTrainedWith(record.command, expected, 'runs trained', dirname(path), `${path}, trained by`);
  return record;
}

/**
 * Refuses a run whose command line lacks a flag of `expected` or has it with another value; `runs` and `found` word
 * the error (what --out must hold, and which file or state did not).
 */
export function checkTrainedWith(command: string, expected: Readonly<Record<string, string | undefined>>, runs: string, dir: string, found: string): void {
  const flags = commandFlags(command);
  const differing = Object.entries(expected).filter(([flag, value]) => flags.get(flag) !== value);
  if (differing.length > 0) {
    const wanted = differing.map(([flag, value]) => (value === undefined ? `no ${flag}` : `${flag} ${value}`)).join(', ');
    throw new InvalidArgumentError('--out', `${runs} with ${wanted} (delete ${dir} to train it again)`, `${found}: ${command}`);
  }
}
