import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '@nextdetail/core';
import { nextdetail, usageError } from './runCli';
import { writeTinyPipelines } from './tinyPipelines';

// `nextdetail convert`: a pipeline file with float16 weights, which generate reads like the float32 one.

let dir: string;
let models: Awaited<ReturnType<typeof writeTinyPipelines>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nextdetail-convert-'));
  models = await writeTinyPipelines(dir, ['var', 'nvg']);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nextdetail convert', () => {
  it.each(['var', 'nvg'] as const)('%s: float16 halves the file, generate reads it, and float32 widens it back', async (method) => {
    const r = nextdetail('convert', models[method]);
    expect(r.status, r.stderr).toBe(0);
    const half = join(dir, `${method}-float16.safetensors`);
    expect(r.stdout).toContain(`output          ${half}`);
    const [full, halved] = [readFileSync(models[method]), readFileSync(half)];
    expect(halved.length).toBeLessThan(full.length * 0.55);
    const file = await readSafetensors(new Uint8Array(halved));
    expect(file.keys().some((k) => file.info(k).dtype === 'F16')).toBe(true);
    expect(file.keys().every((k) => file.info(k).dtype !== 'F32')).toBe(true);
    await file.close();

    const extra = method === 'nvg' ? ['--structure-steps', '2'] : [];
    const g = nextdetail('generate', '--model', half, '--backend', 'wasm', '--class', '3', '--per-class', '2', '--out', join(dir, `${method}-half.png`), ...extra);
    expect(g.status, g.stderr).toBe(0);

    const wide = join(dir, `${method}-wide.safetensors`);
    const w = nextdetail('convert', half, '--dtype', 'float32', '--out', wide);
    expect(w.status, w.stderr).toBe(0);
    const widened = await readSafetensors(new Uint8Array(readFileSync(wide)));
    expect(widened.keys().some((k) => widened.info(k).dtype === 'F32')).toBe(true);
    expect(widened.keys().every((k) => widened.info(k).dtype !== 'F16')).toBe(true);
    await widened.close();
  });

  it('stores recommended sampling settings, which generate and eval take where no flag is given; --clear-sampling drops them', async () => {
    const tuned = join(dir, 'nvg-tuned.safetensors');
    const r = nextdetail('convert', models.nvg, '--dtype', 'float32', '--cfg', '2', '--structure-steps', '1', '--out', tuned);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('sampling        --cfg 2, --structure-steps 1 (recommended by the file)');
    const grid = ['--backend', 'wasm', '--class', '3', '--per-class', '2'];
    const recommended = nextdetail('generate', '--model', tuned, ...grid, '--out', join(dir, 'recommended.png'));
    expect(recommended.status, recommended.stderr).toBe(0);
    expect(recommended.stdout).toContain('sampling        --cfg 2, --structure-steps 1 (the model\'s recommendation)');
    const explicit = nextdetail('generate', '--model', models.nvg, ...grid, '--cfg', '2', '--structure-steps', '1', '--out', join(dir, 'explicit.png'));
    expect(explicit.status, explicit.stderr).toBe(0);
    expect(readFileSync(join(dir, 'recommended.png')).equals(readFileSync(join(dir, 'explicit.png')))).toBe(true);
    const evaluate = (...args: string[]) => nextdetail('eval', '--count', '4', '--batch-size', '2', '--real-count', '20', '--backend', 'wasm', '--json', ...args);
    const evalRecommended = evaluate('--model', tuned);
    expect(evalRecommended.status, evalRecommended.stderr).toBe(0);
    expect(evalRecommended.stderr).toContain('sampling        --cfg 2, --structure-steps 1');
    const evalExplicit = evaluate('--model', models.nvg, '--cfg', '2', '--structure-steps', '1');
    expect(JSON.parse(evalRecommended.stdout).fid).toBe(JSON.parse(evalExplicit.stdout).fid);
    // A flag wins over the recommendation.
    const overridden = nextdetail('generate', '--model', tuned, ...grid, '--structure-steps', '3', '--out', join(dir, 'overridden.png'));
    expect(overridden.stdout).toContain('sampling        --cfg 2 (the model\'s recommendation)');
    expect(readFileSync(join(dir, 'overridden.png')).equals(readFileSync(join(dir, 'explicit.png')))).toBe(false);

    const predicted = join(dir, 'nvg-predicted.safetensors');
    const predictedFlags = ['--structure-source', 'prediction', '--structure-refinements', '1', '--structure-cfg', '3,1'];
    const p = nextdetail('convert', models.nvg, '--dtype', 'float32', ...predictedFlags, '--out', predicted);
    expect(p.stdout).toContain('sampling        --structure-source prediction, --structure-refinements 1, --structure-cfg 3,1 (recommended by the file)');
    const fromFile = nextdetail('generate', '--model', predicted, ...grid, '--out', join(dir, 'predicted.png'));
    expect(fromFile.stdout).toContain('sampling        --structure-source prediction, --structure-refinements 1, --structure-cfg 3,1 (the model\'s recommendation)');
    const byFlags = nextdetail('generate', '--model', models.nvg, ...grid, ...predictedFlags, '--out', join(dir, 'predicted-flags.png'));
    expect(byFlags.status, byFlags.stderr).toBe(0);
    expect(readFileSync(join(dir, 'predicted.png')).equals(readFileSync(join(dir, 'predicted-flags.png')))).toBe(true);

    const added = join(dir, 'nvg-added.safetensors');
    expect(nextdetail('convert', tuned, '--dtype', 'float32', '--top-p', '0.8', '--out', added).stdout).toContain('--cfg 2, --structure-steps 1, --top-p 0.8');
    const cleared = join(dir, 'nvg-cleared.safetensors');
    expect(nextdetail('convert', added, '--dtype', 'float32', '--clear-sampling', '--out', cleared).stdout).toContain('sampling        none');
    const file = await readSafetensors(new Uint8Array(readFileSync(cleared)));
    expect(JSON.parse(file.metadata.info!).sampling).toBeUndefined();
    await file.close();
    const plainRun = nextdetail('generate', '--model', cleared, ...grid, '--out', join(dir, 'cleared.png'));
    expect(plainRun.stdout).not.toContain('sampling ');

    expect(usageError(nextdetail('convert', models.var, '--structure-steps', '1'))).toMatch(/--structure-steps.*only in an NVG pipeline.*var/);
    expect(usageError(nextdetail('convert', models.var, '--structure-source', 'flow'))).toMatch(/--structure-source.*only in an NVG pipeline.*var/);
    expect(usageError(nextdetail('convert', models.nvg, '--structure-refinements', '0.5'))).toMatch(/--structure-refinements.*integer ≥ 0.*0\.5/);
    expect(usageError(nextdetail('convert', models.nvg, '--structure-cfg', '3'))).toMatch(/--structure-cfg.*\[start, end\]/);
    expect(usageError(nextdetail('convert', models.nvg, '--top-p', '2'))).toMatch(/--top-p.*\[0, 1\].*2/);
  });

  it('rejects an unknown dtype, a missing file, a file that is not a pipeline and writing over its input, one line each', () => {
    expect(usageError(nextdetail('convert', models.var, '--dtype', 'int8'))).toMatch(/--dtype.*float16, float32.*"int8"/);
    expect(usageError(nextdetail('convert', join(dir, 'missing.safetensors')))).toMatch(/<model>.*missing\.safetensors/);
    const plain = join(dir, 'plain.safetensors');
    const header = Buffer.from(JSON.stringify({ __metadata__: { kind: 'other' } }));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(plain, Buffer.concat([length, header]));
    expect(usageError(nextdetail('convert', plain))).toMatch(/not a pipeline file.*"other"/);
    expect(usageError(nextdetail('convert', models.var, '--out', models.var))).toMatch(/--out.*other than the model/);
  });
});
