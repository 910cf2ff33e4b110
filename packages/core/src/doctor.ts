#!/usr/bin/env node
/**
 * `nextdetail-doctor`: which tfjs backends can start in this Node process, and why the others cannot.
 * Each backend is probed in a child process so one backend's state cannot hide another's failure.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BACKEND_NAMES } from './backend.js';

const probeFlag = '--probe';

async function probe(name: string): Promise<void> {
  const { useBackend } = await import('./node.js');
  try {
    const info = await useBackend(name as (typeof BACKEND_NAMES)[number]);
    process.stdout.write(JSON.stringify({ ok: true, details: info.details }));
  } catch (err) {
    const reason = (err as { reason?: string }).reason ?? String(err);
    process.stdout.write(JSON.stringify({ ok: false, details: [reason] }));
  }
  process.exit(0);
}

function main(): void {
  const self = fileURLToPath(import.meta.url);
  console.log(`nextdetail doctor — node ${process.version}, ${process.platform}-${process.arch}`);
  for (const key of ['NEXTDETAIL_BACKEND', 'VK_ICD_FILENAMES', 'NEXTDETAIL_DAWN_FLAGS']) {
    if (process.env[key]) console.log(`  ${key}=${process.env[key]}`);
  }
  let available = 0;
  for (const name of BACKEND_NAMES) {
    const child = spawnSync(process.execPath, [self, probeFlag, name], { encoding: 'utf8', timeout: 120_000 });
    let result: { ok: boolean; details: string[] };
    try {
      result = JSON.parse(child.stdout.trim().split('\n').pop() ?? '');
    } catch {
      const why = child.error?.message ?? (child.stderr.trim().split('\n').pop() || `exit code ${child.status}`);
      result = { ok: false, details: [`probe crashed: ${why}`] };
    }
    if (result.ok) available++;
    console.log(`${result.ok ? '✔' : '✘'} ${name.padEnd(10)} ${result.details.join('; ')}`);
  }
  console.log(available > 0 ? `${available} backend(s) available.` : 'no backend available.');
}

if (process.argv[2] === probeFlag) {
  await probe(process.argv[3] ?? '');
} else {
  main();
}
