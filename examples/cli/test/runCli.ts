// Runs the built CLI as a user would (`node dist/cli.js`), so build first (`npx turbo run build`; npm test does).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { readFileSync } from 'node:fs';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `nextdetail ...args`, synchronously. */
export function nextdetail(...args: string[]): CliResult {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npx turbo run build)`);
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `nextdetail ...args` without blocking the event loop: for long runs, since a test worker blocked for minutes misses
 * vitest's RPC deadlines.
 */
export function nextdetailAsync(...args: string[]): Promise<CliResult> {
  if (!existsSync(cli)) return Promise.reject(new Error(`${cli} is missing: build first (npx turbo run build)`));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The one-line usage error a bad flag must give: exit 1, a single `error:` line naming the flag. */
export function usageError(result: CliResult): string {
  const lines = result.stderr.trim().split('\n').filter((l) => !/^(Warning|=+|Hi, looks like)/.test(l) && l.trim() !== '');
  if (result.status !== 1 || lines.length !== 1 || !lines[0]!.startsWith('error: ')) {
    throw new Error(`expected one error line and exit 1, got status ${result.status}:\n${result.stderr}\n${result.stdout}`);
  }
  return lines[0]!;
}

export function readPng(path: string): PNG {
  return PNG.sync.read(readFileSync(path));
}
