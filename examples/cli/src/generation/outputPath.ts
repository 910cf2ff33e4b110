import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from '@nextdetail/core';

/** Makes the folder `path` (or, with `file`, the folder holding it) and returns the absolute path; errors name `flag`. */
export async function outputPath(path: string, flag: string, { file = true } = {}): Promise<string> {
  const absolute = resolve(path);
  try {
    await mkdir(file ? dirname(absolute) : absolute, { recursive: true });
  } catch (err) {
    throw new InvalidArgumentError(flag, file ? 'a file in a folder that can be created' : 'a folder that can be created', `${JSON.stringify(path)} (${(err as Error).message})`);
  }
  return absolute;
}
