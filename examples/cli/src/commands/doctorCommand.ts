import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { type BackendName, useBackend } from '@nextdetail/core/node';
import { Command } from 'commander';
import { describeBackend } from '../backend.js';
import { loadClassifierFile, SHIPPED_CLASSIFIER } from '../classifier/classifierFile.js';
import { FASHION_MNIST_DIR } from '../data/fashionMnist.js';
import { decodePng } from '../png.js';

const SAMPLE_IMAGE = new URL('../assets/sample.png', import.meta.url);
const FASHION_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const BACKENDS: readonly BackendName[] = ['cpu', 'wasm', 'webgpu'];

/** One line of the report. `required` checks decide the exit code; the others only inform. */
interface Check {
  name: string;
  ok: boolean;
  detail: string;
  required: boolean;
}

interface DoctorFlags {
  data: string;
  json?: boolean;
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check the installation: versions, which tfjs backends start, Fashion-MNIST, the shipped assets (exit 0 when usable)')
    .option('--data <dir>', 'where to look for the Fashion-MNIST idx files', FASHION_MNIST_DIR)
    .option('--json', 'print the checks as JSON')
    .action(async (flags: DoctorFlags) => runDoctor(flags));
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/** Starts `name` and runs one small computation on it. */
async function backendCheck(name: BackendName): Promise<Check> {
  try {
    const info = await useBackend([name]);
    const sum = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4]));
    const values = Array.from(await sum.data());
    tf.dispose(sum);
    const ok = values[0] === 4 && values[1] === 6;
    return { name: `backend ${name}`, ok, detail: ok ? describeBackend(info) : `started but computed [${values}] for [1, 2] + [3, 4]`, required: false };
  } catch (err) {
    return { name: `backend ${name}`, ok: false, detail: errorText(err), required: false };
  }
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return `${pkg.name} ${pkg.version}`;
}

async function runDoctor(flags: DoctorFlags): Promise<void> {
  // Production mode silences tfjs's "install tfjs-node" banner on the cpu backend, which is not a problem here.
  tf.enableProdMode();
  const checks: Check[] = [
    { name: 'node', ok: true, detail: process.version, required: false },
    { name: 'cli', ok: true, detail: packageVersion(), required: false },
    { name: 'tfjs', ok: true, detail: tf.version.tfjs, required: false },
  ];
  for (const name of BACKENDS) checks.push(await backendCheck(name));
  const anyBackend = checks.some((c) => c.name.startsWith('backend ') && c.ok);
  checks.push({ name: 'a usable backend', ok: anyBackend, detail: anyBackend ? 'yes' : 'none of cpu, wasm, webgpu started', required: true });
  // Back to a plain backend for the asset checks (webgpu may be the last one started).
  await useBackend(['wasm', 'cpu']).catch(() => undefined);

  const missing = FASHION_FILES.filter((f) => !existsSync(join(flags.data, f)));
  checks.push({
    name: 'fashion-mnist',
    ok: missing.length === 0,
    detail: missing.length === 0 ? flags.data : `missing in ${flags.data}: ${missing.join(', ')} (run scripts/setup-datasets.sh; needed by eval --real fashion-mnist:* and train-classifier)`,
    required: false,
  });
  try {
    const image = decodePng(await readFile(SAMPLE_IMAGE));
    checks.push({ name: 'asset sample.png', ok: true, detail: `${image.width}×${image.height}`, required: true });
  } catch (err) {
    checks.push({ name: 'asset sample.png', ok: false, detail: errorText(err), required: true });
  }
  try {
    const { classifier, metadata } = await loadClassifierFile(SHIPPED_CLASSIFIER);
    const probe = tf.zeros([1, 32, 32, 1]) as tf.Tensor4D;
    const logits = classifier.logits(probe);
    const finite = (await logits.data()).every(Number.isFinite);
    tf.dispose([probe, logits]);
    classifier.dispose();
    const accuracy = metadata.test_accuracy === undefined ? 'unknown' : `${(100 * Number(metadata.test_accuracy)).toFixed(2)} %`;
    checks.push({ name: 'asset classifier', ok: finite, detail: `test accuracy ${accuracy}${finite ? '' : ', but it computes non-finite logits'}`, required: true });
  } catch (err) {
    checks.push({ name: 'asset classifier', ok: false, detail: errorText(err), required: true });
  }

  const usable = checks.every((c) => c.ok || !c.required);
  if (flags.json) {
    console.log(JSON.stringify({ usable, checks }, null, 2));
  } else {
    const width = Math.max(...checks.map((c) => c.name.length));
    for (const c of checks) console.log(`${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'no  '}  ${c.name.padEnd(width)}  ${c.detail}`);
    console.log(usable ? 'usable' : 'not usable: fix the FAIL lines');
  }
  process.exitCode = usable ? 0 : 1;
}
