import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';

/** The fixtures folder: `NEXTDETAIL_FIXTURES`, else ../shared/fixtures beside the repository. */
export function fixturesDir(): string {
  const fromEnv = process.env.NEXTDETAIL_FIXTURES;
  if (fromEnv) return resolve(fromEnv);
  return resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'shared', 'fixtures');
}

export function fixturePath(...parts: string[]): string {
  return join(fixturesDir(), ...parts);
}

/** Every file in a fixtures subfolder whose name ends with `suffix` (sorted), or [] if the folder is absent. */
export function listFixtures(subdir: string, suffix: string): string[] {
  const dir = fixturePath(subdir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => join(dir, f));
}

export function readJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Every reference fixture whose `__metadata__.kind` is `kind`, opened (the others are closed again); close them after. */
export async function openFixtures(kind: string): Promise<SafetensorsFile[]> {
  const opened = await Promise.all(listFixtures('reference', '.safetensors').map((path) => readSafetensorsFile(path)));
  const wanted = opened.filter((file) => file.metadata.kind === kind);
  await Promise.all(opened.filter((file) => !wanted.includes(file)).map((file) => file.close()));
  return wanted;
}
