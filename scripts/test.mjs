#!/usr/bin/env node
// `npm test`: install if needed, build and type-check every package, then run every vitest project (the numeric tests once per backend,
// the packaging checks once). Where scripts/setup-vulkan.sh has installed a CPU Vulkan driver, its environment is
// applied so the webgpu project runs too. Ends with a plain "vitest: N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInstalled } from './ensureInstalled.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
ensureInstalled(root);
const env = { ...process.env };
const vulkanEnv = join(root, '.vulkan', 'env.json');
if (existsSync(vulkanEnv)) {
  for (const [key, value] of Object.entries(JSON.parse(readFileSync(vulkanEnv, 'utf8')))) {
    if (/^[A-Z_]+$/.test(key) && env[key] === undefined) env[key] = String(value);
  }
}

function step(title, command, args) {
  console.log(`\n> ${title}`);
  const r = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  return r.status ?? 1;
}

const bin = (name) => join(root, 'node_modules', '.bin', name);
if (step('build and type-check', bin('turbo'), ['run', 'build', 'typecheck', '--output-logs=errors-only']) !== 0) process.exit(1);
if (step('type-check shared test code', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']) !== 0) process.exit(1);

const reportDir = mkdtempSync(join(tmpdir(), 'nextdetail-vitest-'));
const report = join(reportDir, 'report.json');
const status = step('vitest', bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
]);
if (existsSync(report)) {
  const { numPassedTests, numFailedTests, numPendingTests } = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = numPendingTests ? `, ${numPendingTests} skipped` : '';
  console.log(`\nvitest: ${numPassedTests} passed, ${numFailedTests} failed${skipped}`);
}
rmSync(reportDir, { recursive: true, force: true });
process.exit(status);
