import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '@nextdetail/core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextdetail, usageError } from './runCli';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nextdetail-train-classifier-'));
  mkdirSync(join(dir, 'fakes'));
  for (let n = 0; n < 10; n++) {
    const png = new PNG({ width: 28, height: 28 });
    png.data.fill(25 * n);
    writeFileSync(join(dir, 'fakes', `${n}.png`), PNG.sync.write(png));
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nextdetail train-classifier', () => {
  it('trains briefly, writes safetensors with its test accuracy in the metadata, and eval can use it', async () => {
    const out = join(dir, 'c.safetensors');
    const args = ['--limit', '512', '--epochs', '1', '--batch-size', '32', '--test-limit', '200', '--backend', 'wasm'];
    const r = nextdetail('train-classifier', ...args, '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^epoch 1\/1: mean loss \d\.\d{4}/m);
    const file = await readSafetensors(new Uint8Array(readFileSync(out)));
    const meta = file.metadata;
    await file.close();
    expect(meta).toMatchObject({ kind: 'fashion-mnist-classifier', train_images: '512', test_images: '200', epochs: '1', seed: '0', backend: 'wasm' });
    const accuracy = Number(meta.test_accuracy);
    // Far above chance (10 %) after 16 steps.
    expect(accuracy).toBeGreaterThan(0.3);
    expect(r.stdout).toContain(`test accuracy   ${(100 * accuracy).toFixed(2)} % on 200 images`);
    const again = nextdetail('train-classifier', ...args, '--out', join(dir, 'again.safetensors'));
    expect(again.status, again.stderr).toBe(0);
    const weights = (f: string) => readFileSync(f).subarray(readFileSync(f).readUInt32LE(0) + 8);
    expect(weights(join(dir, 'again.safetensors')).equals(weights(out))).toBe(true);

    const e = nextdetail('eval', '--classifier', out, '--real-count', '40', '--fake', join(dir, 'fakes'), '--backend', 'wasm', '--json');
    expect(e.status, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).classifier.testAccuracy).toBe(accuracy);
  });

  it('rejects bad flags with one line naming the flag', () => {
    const run = (...args: string[]) => nextdetail('train-classifier', '--backend', 'wasm', '--out', join(dir, 'x.safetensors'), ...args);
    expect(usageError(run('--epochs', '0'))).toMatch(/--epochs/);
    expect(usageError(run('--lr', '-1'))).toMatch(/--lr/);
    expect(usageError(run('--data', join(dir, 'nowhere')))).toMatch(/--data/);
    expect(usageError(run('--limit', '10', '--batch-size', '64'))).toMatch(/--batch-size/);
  });
});
