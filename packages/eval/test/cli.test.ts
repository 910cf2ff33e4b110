import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors, type WritableRawTensor } from '@nextdetail/core';
import { fixturePath } from '../../../test/fixtures.js';
import { main } from '../src/cliMain.js';
import { decodeStatisticsNpz, frechetDistance, StatisticsAccumulator } from '../src/index.js';
import { loadAccumulatorState, loadStatistics } from '@nextdetail/eval/node';
import { hashValues, readLayout } from './hashWeights.js';

// The CLI runs in-process through its main(); `--backend wasm` keeps the full 299×299 network fast whatever backend
// this test project started (the numerics per backend are the golden tests' job), and the original is restored.
async function run(args: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const out: string[] = [];
  let err = '';
  const errStream = new Writable({
    write(chunk, _enc, done) {
      err += String(chunk);
      done();
    },
  });
  const code = await main(args, { out: (l) => out.push(l), err: errStream });
  return { code, out, err };
}

function writePng(path: string, size: number, phase: number): void {
  const png = new PNG({ width: size, height: size });
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) png.data[4 * i + c] = Math.round(127.5 + 127.5 * Math.sin(0.3 * (i % size) + 0.7 * Math.floor(i / size) + 2 * c + phase));
    png.data[4 * i + 3] = 255;
  }
  writeFileSync(path, PNG.sync.write(png));
}

describe('nextdetail-eval CLI', () => {
  let dir: string;
  let weights: string;
  let original: string;
  const common = () => ['--weights', weights, '--backend', 'wasm', '--batch-size', '2', '--json'];

  beforeAll(async () => {
    original = tf.getBackend();
    dir = mkdtempSync(join(tmpdir(), 'nextdetail-eval-cli-'));
    const tensors: Record<string, WritableRawTensor> = {};
    for (const e of readLayout(fixturePath('eval', 'torch_fidelity_inception_layout.txt'))) {
      const data = hashValues(e);
      if (data) tensors[e.name] = { dtype: 'F32', shape: e.shape, data };
    }
    weights = join(dir, 'hash-weights.safetensors');
    writeFileSync(weights, await writeSafetensors(tensors));
    for (const [sub, phase] of [['a', 0], ['b', 1.5]] as const) {
      mkdirSync(join(dir, sub));
      for (let i = 0; i < 3; i++) writePng(join(dir, sub, `img${i}.png`), 16 + 4 * (i % 2), phase + i);
    }
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await tf.setBackend(original);
  });

  it('stats writes numpy-readable mu/sigma; stats --state shards merge to the same statistics', async () => {
    const r = await run(['stats', join(dir, 'a'), join(dir, 'a.npz'), ...common()]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out[0]!)).toMatchObject({ count: 3 });
    const stats = await decodeStatisticsNpz(new Uint8Array(readFileSync(join(dir, 'a.npz'))));
    expect(stats.mu.length).toBe(2048);
    expect(stats.sigma.length).toBe(2048 * 2048);
    const s = await run(['stats', join(dir, 'a'), join(dir, 'a.state.npz'), '--state', ...common()]);
    expect(s.code, s.err).toBe(0);
    const m = await run(['merge', join(dir, 'merged.safetensors'), join(dir, 'a.state.npz')]);
    expect(m.code, m.err).toBe(0);
    const merged = await loadStatistics(join(dir, 'merged.safetensors'));
    const direct = StatisticsAccumulator.fromState(await loadAccumulatorState(join(dir, 'a.state.npz'))).statistics();
    expect(Array.from(merged.mu)).toEqual(Array.from(direct.mu));
    let maxDiff = 0;
    stats.sigma.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - merged.sigma[i]!))));
    expect(maxDiff).toBeLessThan(1e-12);
  });

  it('fid between a folder and a statistics file, and between identical statistics (0)', async () => {
    const same = await run(['fid', join(dir, 'a.npz'), join(dir, 'a.npz'), '--json']);
    expect(same.code, same.err).toBe(0);
    expect(JSON.parse(same.out[0]!).fid).toBeLessThan(1e-9);
    const r = await run(['fid', join(dir, 'b'), join(dir, 'a'), ...common()]);
    expect(r.code, r.err).toBe(0);
    const fid = JSON.parse(r.out[0]!).fid as number;
    expect(fid).toBeGreaterThan(0);
    // The folder-vs-folder result (Gram route, 3 images) equals the statistics route on the saved statistics.
    const b = await run(['stats', join(dir, 'b'), join(dir, 'b.npz'), ...common()]);
    expect(b.code, b.err).toBe(0);
    const viaStats = frechetDistance(await loadStatistics(join(dir, 'b.npz')), await loadStatistics(join(dir, 'a.npz')));
    expect(Math.abs(viaStats - fid)).toBeLessThan(1e-6 * fid + 1e-6);
  });

  it('is prints mean and std over splits; bad usage exits non-zero with a message', async () => {
    const r = await run(['is', join(dir, 'a'), '--splits', '1', ...common()]);
    expect(r.code, r.err).toBe(0);
    const is = JSON.parse(r.out[0]!) as { mean: number; std: number; splits: number };
    expect(is.splits).toBe(1);
    expect(is.mean).toBeGreaterThanOrEqual(1);
    const noWeights = await run(['stats', join(dir, 'a'), join(dir, 'x.npz'), '--backend', 'wasm']);
    expect(noWeights.code).toBe(1);
    expect(noWeights.err).toContain('--weights');
    const badMode = await run(['fid', 'x', 'y', '--preprocess', 'nearest']);
    expect(badMode.code).not.toBe(0);
  });
});
