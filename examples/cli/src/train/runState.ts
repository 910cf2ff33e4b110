import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, readSafetensors, type SafetensorsFile } from '@nextdetail/core';

const STATE = 'state.safetensors';
const PROGRESS = 'state.json';

/** What a run records beside the library's training state: its settings, where it is, and its loss history. */
export interface RunProgress<Settings> {
  command: string;
  settings: Settings;
  /** Steps done. */
  step: number;
  totalSteps: number;
  /** Loss terms by name, one value per step done. */
  losses: Record<string, number[]>;
  /** Training time so far, over every session. */
  seconds: number;
  /** Each `--resume` that changed the run's length, in order (absent: the length it started with). */
  extensions?: RunExtension[];
}

/** A `--resume --steps` (or `--epochs`): from step `atStep` on, the run ends at `totalSteps`. */
export interface RunExtension {
  atStep: number;
  totalSteps: number;
}

/**
 * Writes the latest training state of a run into `dir`: the library's safetensors (model, optimizer, step, generator)
 * and `state.json`; each is written to a temporary name and renamed, so an interrupted save leaves the previous one.
 */
export async function saveRunState<S>(dir: string, state: Uint8Array, progress: RunProgress<S>): Promise<void> {
  await writeFile(join(dir, `${STATE}.tmp`), state);
  await writeFile(join(dir, `${PROGRESS}.tmp`), JSON.stringify(progress, null, 1));
  await rename(join(dir, `${STATE}.tmp`), join(dir, STATE));
  await rename(join(dir, `${PROGRESS}.tmp`), join(dir, PROGRESS));
}

/** The progress `saveRunState` left in `dir`, if any (a run stopped before its end). */
export async function readRunProgress<S>(dir: string): Promise<RunProgress<S> | undefined> {
  if (!existsSync(join(dir, PROGRESS)) || !existsSync(join(dir, STATE))) return undefined;
  return JSON.parse(await readFile(join(dir, PROGRESS), 'utf8')) as RunProgress<S>;
}

/** The state `saveRunState` left in `dir` for `command`. */
export async function loadRunState<S>(dir: string, command: string): Promise<{ state: SafetensorsFile; progress: RunProgress<S> }> {
  if (!existsSync(join(dir, PROGRESS)) || !existsSync(join(dir, STATE))) {
    throw new InvalidArgumentError('--resume', `an --out directory holding ${STATE} and ${PROGRESS}`, `none in ${JSON.stringify(dir)}`);
  }
  const progress = (await readRunProgress<S>(dir))!;
  if (progress.command !== command) {
    throw new InvalidArgumentError('--resume', `the state of a ${command} run`, `a ${JSON.stringify(progress.command)} run's`);
  }
  return { state: await readSafetensors(new Uint8Array(await readFile(join(dir, STATE)))), progress };
}
