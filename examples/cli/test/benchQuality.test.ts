// Runs the built CLI (`node dist/cli.js`): build first (`npx turbo run build --filter=@nextdetail/example-cli...`).
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextdetailAsync as nextdetail, usageError } from './runCli';

// One scale-wise method and NVG keep the run near a minute; the four methods share these code paths.
const METHODS = ['var', 'nvg'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nextdetail-bench-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nextdetail bench-quality', () => {
  it('trains each method on tiny settings and writes the table, the JSON and the chart', async () => {
    const out = join(dir, 'bench');
    const tiny = ['--preset', 'tiny', '--tokenizer-steps', '2', '--generator-steps', '2', '--limit', '12', '--count', '20', '--real-count', '100', '--backend', 'wasm'];
    // An interrupted benchmark left VAR's tokenizer part-trained: the run goes on from its state.
    const stopped = await nextdetail('train-tokenizer', '--method', 'var', ...tiny.slice(0, 2), '--steps', '2', '--stop-at', '1', '--limit', '12', '--seed', '0', '--backend', 'wasm', '--out', join(out, 'var', 'tokenizer'));
    expect(stopped.status, stopped.stderr).toBe(0);
    const r = await nextdetail('bench-quality', ...tiny, '--methods', METHODS.join(','), '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('var: training the tokenizer (2 steps): going on from step 1');
    expect(r.stderr).toContain('nvg: training the tokenizer (2 steps)\n');

    const table = readFileSync(join(out, 'results.md'), 'utf8');
    const rows = table.split('\n').filter((l) => l.startsWith('| '));
    expect(rows[0]).toMatch(/^\| method \| FID \(↓\) \| IS \(↑\) \| precision \(↑\) \| recall \(↑\) \| class accuracy \(↑\) \|/);
    expect(rows.slice(2).map((l) => l.split(' | ')[0]!.slice(2))).toEqual([...METHODS, 'real train vs test (noise floor)']);
    expect(r.stdout).toContain(rows[0]);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      methods: { method: string; metrics: { fid: number; fake: { count: number }; accuracy: number } }[];
      noiseFloor: { fid: number; fake: { count: number }; real: { count: number } };
    };
    for (const m of results.methods) {
      expect(m.metrics.fake.count).toBe(20);
      expect(m.metrics.fid).toBeGreaterThan(0);
      expect(m.metrics.accuracy).toBeGreaterThanOrEqual(0);
    }
    expect(results.noiseFloor.fake.count).toBe(20);
    // The generated images are kept, for a stopped benchmark to go on from.
    for (const m of METHODS) {
      const saved = readdirSync(join(out, m, 'generator', 'samples'), { recursive: true, encoding: 'utf8' });
      expect(saved.filter((f) => f.endsWith('.png'))).toHaveLength(20);
    }
    expect(results.noiseFloor.real.count).toBe(100);

    const chart = PNG.sync.read(readFileSync(join(out, 'results.png')));
    expect(chart.width).toBeGreaterThan(5 * (METHODS.length + 1) * 26);
    // Every method's bar colour appears in the chart (VAR's blue as an example).
    let blue = 0;
    for (let i = 0; i < chart.data.length; i += 4) if (chart.data[i] === 31 && chart.data[i + 1] === 120 && chart.data[i + 2] === 181) blue++;
    expect(blue).toBeGreaterThan(0);

    // A second run finds the trained pipelines and their evaluations, and only writes the table again.
    const evalFile = join(out, 'var', 'generator', 'eval.json');
    const evaluated = statSync(evalFile).mtimeMs;
    const again = await nextdetail('bench-quality', ...tiny, '--methods', 'var', '--out', out);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('training the');
    expect(statSync(evalFile).mtimeMs).toBe(evaluated);
    expect(again.stdout).toContain(rows[2]);

    // The folder may move: its runs and evaluations are still found.
    const moved = join(dir, 'moved');
    renameSync(out, moved);
    const fromMoved = await nextdetail('bench-quality', ...tiny, '--methods', 'var', '--out', moved);
    expect(fromMoved.status, fromMoved.stderr).toBe(0);
    expect(fromMoved.stderr).not.toContain('training the');
    expect(statSync(join(moved, 'var', 'generator', 'eval.json')).mtimeMs).toBe(evaluated);
    renameSync(moved, out);

    // A run with another budget refuses the finished runs rather than reporting them under its settings.
    const other = await nextdetail('bench-quality', ...tiny.slice(0, 4), '--generator-steps', '3', ...tiny.slice(6), '--methods', 'var', '--out', out);
    expect(usageError(other)).toMatch(/--out.*--steps 3.*trained by: nextdetail train .*--steps 2/);
  }, 300_000);

  it('refuses a stopped run started with other settings rather than finishing it under these', async () => {
    const out = join(dir, 'other-stopped');
    const stopped = await nextdetail('train-tokenizer', '--method', 'var', '--preset', 'tiny', '--steps', '3', '--stop-at', '1', '--limit', '12', '--backend', 'wasm', '--out', join(out, 'var', 'tokenizer'));
    expect(stopped.status, stopped.stderr).toBe(0);
    const r = await nextdetail('bench-quality', '--preset', 'tiny', '--tokenizer-steps', '2', '--limit', '12', '--methods', 'var', '--backend', 'wasm', '--out', out);
    expect(usageError(r)).toMatch(/--out.*stopped runs started with --steps 2 .*started by: nextdetail train-tokenizer .*--steps 3/);

    // Shortened to the benchmark's length by --resume, it still did not train on the benchmark's schedule.
    const shortened = await nextdetail('train-tokenizer', '--resume', '--steps', '2', '--stop-at', '1', '--backend', 'wasm', '--out', join(out, 'var', 'tokenizer'));
    expect(shortened.status, shortened.stderr).toBe(0);
    const again = await nextdetail('bench-quality', '--preset', 'tiny', '--tokenizer-steps', '2', '--limit', '12', '--methods', 'var', '--backend', 'wasm', '--out', out);
    expect(usageError(again)).toMatch(/--out.*stopped runs started with no --resume .*started by: .*--steps 3 .*--stop-at 1 && .*--steps 2 .*--resume/);
  }, 60_000);

  it('refuses a stopped generator run that fine-tunes another pipeline (--init)', async () => {
    const out = join(dir, 'fine-tuned');
    const small = ['--preset', 'tiny', '--steps', '2', '--limit', '12', '--backend', 'wasm'];
    const tokenizer = join(out, 'var', 'tokenizer');
    expect((await nextdetail('train-tokenizer', '--method', 'var', ...small, '--out', tokenizer)).status).toBe(0);
    const tokenizerFile = join(tokenizer, 'tokenizer.safetensors');
    const base = join(dir, 'fine-tune-base');
    expect((await nextdetail('train', '--tokenizer', tokenizerFile, ...small, '--out', base)).status).toBe(0);
    const init = join(base, 'model.safetensors');
    const stopped = await nextdetail('train', '--tokenizer', tokenizerFile, '--init', init, ...small, '--stop-at', '1', '--out', join(out, 'var', 'generator'));
    expect(stopped.status, stopped.stderr).toBe(0);
    const r = await nextdetail('bench-quality', '--preset', 'tiny', '--tokenizer-steps', '2', '--generator-steps', '2', '--limit', '12', '--methods', 'var', '--backend', 'wasm', '--out', out);
    expect(usageError(r)).toMatch(/--out.*stopped runs started with no --init .*started by: nextdetail train --tokenizer \S+ --init \S+ /);
  }, 120_000);

  it('rejects an unknown method with one error line naming --methods', async () => {
    const r = await nextdetail('bench-quality', '--methods', 'var,gan', '--out', join(dir, 'bad'));
    expect(usageError(r)).toMatch(/--methods/);
  });
});
