import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { RandomGenerator } from '@nextdetail/core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../src/data/fashionMnist';
import { nextdetail, nextdetailAsync, usageError } from './runCli';
import { writeTinyPipelines } from './tinyPipelines';
import type { EvalReport } from '../src/evaluation/evalReport';

// `nextdetail eval` on Fashion-MNIST with the shipped classifier: real against a disjoint real subset, against noise,
// and against samples of a tiny pipeline.

let dir: string;
let models: Awaited<ReturnType<typeof writeTinyPipelines>>;

function writeGrey(path: string, side: number, pixel: (i: number) => number): void {
  const png = new PNG({ width: side, height: side });
  for (let i = 0; i < side * side; i++) {
    const v = pixel(i);
    png.data[4 * i] = png.data[4 * i + 1] = png.data[4 * i + 2] = v;
    png.data[4 * i + 3] = 255;
  }
  writeFileSync(path, PNG.sync.write(png));
}

const EVAL = ['eval', '--real', 'fashion-mnist:test', '--real-count', '300', '--backend', 'wasm', '--json'];

function evaluate(...args: string[]): EvalReport {
  const r = nextdetail(...EVAL, ...args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as EvalReport;
}

async function evaluateAsync(...args: string[]): Promise<EvalReport> {
  const r = await nextdetailAsync(...EVAL, ...args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as EvalReport;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nextdetail-eval-'));
  models = await writeTinyPipelines(dir, ['var', 'nvg']);
  // Test images 1000–1199 (disjoint from the first 300 used as the real set), in class folders named as the classes.
  const test = loadFashionMnist({ split: 'test', size: 28, limit: 1200 });
  for (let n = 1000; n < 1200; n++) {
    const folder = join(dir, 'subset', FASHION_MNIST_CLASSES[test.labels[n]!]!.replace('/', '-'));
    mkdirSync(folder, { recursive: true });
    writeGrey(join(folder, `${n}.png`), 28, (i) => test.images[n * 28 * 28 + i]!);
  }
  const rng = new RandomGenerator(1);
  mkdirSync(join(dir, 'noise'));
  for (let n = 0; n < 200; n++) {
    const u = rng.uniformArray(28 * 28);
    writeGrey(join(dir, 'noise', `${n}.png`), 28, (i) => Math.floor(u[i]! * 256));
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nextdetail eval', () => {
  let subset: EvalReport;
  let noise: EvalReport;

  it('real against a disjoint real subset: finite metrics, class folders give the accuracy', () => {
    subset = evaluate('--fake', join(dir, 'subset'));
    expect([subset.real.count, subset.fake.count]).toEqual([300, 200]);
    for (const v of [subset.fid, subset.kid.mean, subset.kid.std, subset.inceptionScore.mean]) expect(Number.isFinite(v)).toBe(true);
    expect(subset.precision).toBeGreaterThan(0.5);
    expect(subset.recall).toBeGreaterThan(0.5);
    expect(subset.inceptionScore.mean).toBeGreaterThan(1);
    expect(subset.inceptionScore.mean).toBeLessThanOrEqual(10);
    // The shipped classifier (88.7 % on the whole test split) reads the folder and the split alike.
    expect(subset.accuracy).toBeGreaterThan(0.8);
    expect(subset.realAccuracy).toBeGreaterThan(0.8);
    expect(Object.keys(subset.perClassAccuracy).sort()).toEqual([...FASHION_MNIST_CLASSES].sort());
  });

  it('FID and KID of noise are far above those of real images; precision of noise is low; no labels, no accuracy', () => {
    noise = evaluate('--fake', join(dir, 'noise'));
    expect(Number.isFinite(noise.fid)).toBe(true);
    expect(subset.fid).toBeLessThan(noise.fid / 5);
    expect(subset.kid.mean).toBeLessThan(noise.kid.mean);
    expect(noise.precision).toBeLessThan(subset.precision / 2);
    expect(noise.accuracy).toBeNull();
  });

  it.each(['var', 'nvg'] as const)('%s: generates the fake set with --model (classes in turn) and scores its class accuracy', (method) => {
    const extra = method === 'nvg' ? ['--structure-steps', '2'] : [];
    const r = evaluate('--model', models[method], '--count', '20', '--batch-size', '10', ...extra);
    expect(r.fake.count).toBe(20);
    for (const v of [r.fid, r.kid.mean, r.precision, r.recall, r.inceptionScore.mean, r.accuracy!]) expect(Number.isFinite(v)).toBe(true);
    expect(r.accuracy).toBeGreaterThanOrEqual(0);
    expect(r.accuracy).toBeLessThanOrEqual(1);
    // Image i asks for class i mod 10: every class has two samples.
    expect(Object.keys(r.perClassAccuracy)).toHaveLength(10);
  });

  it('--fake-out keeps the images; a later run reads back the batches saved with the same settings', async () => {
    const saved = join(dir, 'resumed');
    const first = await evaluateAsync('--model', models.var, '--count', '6', '--batch-size', '3', '--fake-out', saved);
    // Image n is <class>/<n>.png: ordered by n.
    const pngs = () =>
      readdirSync(saved, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.png'))
        .sort((a, b) => basename(a).localeCompare(basename(b)));
    expect(pngs()).toHaveLength(6);
    const stamps = pngs().map((f) => statSync(join(saved, f)).mtimeMs);

    // Two saved batches are read back and one more is generated: the set equals a fresh run's.
    const resumed = await evaluateAsync('--model', models.var, '--count', '9', '--batch-size', '3', '--fake-out', saved);
    expect(pngs()).toHaveLength(9);
    expect(pngs().slice(0, 6).map((f) => statSync(join(saved, f)).mtimeMs)).toEqual(stamps);
    const fresh = await evaluateAsync('--model', models.var, '--count', '9', '--batch-size', '3', '--fake-out', join(dir, 'fresh'));
    expect(resumed.fid).toBe(fresh.fid);
    expect(resumed.accuracy).toBe(fresh.accuracy);
    expect(first.fake.count).toBe(6);

    // A batch missing a file is generated again, the same.
    const lost = join(saved, pngs()[4]!);
    const lostBytes = readFileSync(lost);
    rmSync(lost);
    const repaired = await evaluateAsync('--model', models.var, '--count', '9', '--batch-size', '3', '--fake-out', saved);
    expect(readFileSync(lost).equals(lostBytes)).toBe(true);
    expect(repaired.fid).toBe(fresh.fid);

    // Images of other settings are not mixed in.
    const other = async (...args: string[]) => usageError(await nextdetailAsync('eval', '--backend', 'wasm', '--model', models.var, '--count', '9', '--fake-out', saved, ...args));
    expect(await other('--batch-size', '3', '--seed', '1')).toMatch(/--fake-out.*"seed":0/);
    expect(await other('--batch-size', '4')).toMatch(/--fake-out.*"batchSize":3/);
    expect(await other('--batch-size', '3', '--model', models.nvg)).toMatch(/--fake-out/);
  });

  it('prints a table without --json', () => {
    const r = nextdetail('eval', '--real-count', '50', '--fake', join(dir, 'noise'), '--backend', 'wasm');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^FID\s+\d+\.\d{3}\s/m);
    expect(r.stdout).toMatch(/^precision\s+0\.\d{4}\s/m);
  });

  it('rejects bad flags with one line naming the flag', () => {
    const run = (...args: string[]) => nextdetail('eval', '--backend', 'wasm', ...args);
    expect(usageError(run())).toMatch(/--fake.*--model/);
    expect(usageError(run('--fake', join(dir, 'noise'), '--model', models.var))).toMatch(/--fake.*both/);
    expect(usageError(run('--fake', join(dir, 'nowhere')))).toMatch(/--fake/);
    expect(usageError(run('--real', 'mnist:test', '--fake', join(dir, 'noise')))).toMatch(/--real/);
    expect(usageError(run('--fake', join(dir, 'noise'), '--classifier', join(dir, 'none.safetensors')))).toMatch(/--classifier/);
    expect(usageError(run('--model', models.var, '--count', '0'))).toMatch(/--count/);
  });
});
