#!/usr/bin/env node
// `npm run demo`: install if needed, build, then run the example CLI's demo (examples/cli/scripts/demo.mjs).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInstalled } from './ensureInstalled.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
ensureInstalled(root);
const run = (command, args) => {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(join(root, 'node_modules', '.bin', 'turbo'), ['run', 'build', '--output-logs=errors-only']);
run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'demo', '--workspace', '@nextdetail/example-cli', '--', ...process.argv.slice(2)]);
