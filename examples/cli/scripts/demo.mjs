#!/usr/bin/env node
// `npm run demo`: a labelled grid of all 10 Fashion-MNIST classes from every shipped model (assets/models/*.safetensors),
// written to out/demo/<method>.png at the repository root, then the base/detail decomposition of the embedded sample
// image into out/demo/. No training and no network: the models are files in this repository.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = fileURLToPath(new URL('..', import.meta.url));
const out = join(app, '..', '..', 'out', 'demo');
const models = join(app, 'assets', 'models');
const cli = (...args) => {
  const started = Date.now();
  const r = spawnSync(process.execPath, [join(app, 'dist', 'cli.js'), ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  return (Date.now() - started) / 1000;
};
const backend = ['--backend', process.env.NEXTDETAIL_BACKEND ?? 'webgpu,wasm,cpu'];

const shipped = existsSync(models) ? readdirSync(models).filter((f) => f.endsWith('.safetensors')).sort() : [];
if (shipped.length === 0) console.log(`no shipped models in ${models} yet: only the decomposition demo runs`);
for (const file of shipped) {
  const grid = join(out, file.replace(/\.safetensors$/, '.png'));
  const seconds = cli('generate', '--model', join(models, file), '--per-class', '4', '--seed', '0', '--cfg', '3', '--out', grid, ...backend);
  console.log(`${file}: 10 classes × 4 → ${grid} (${seconds.toFixed(1)} s)`);
}
cli('decompose', '--order', '3', '--out', out, ...backend);
