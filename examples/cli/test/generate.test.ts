import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridSize, tileScale } from '../src/render/labelledGrid';
import { nextdetail, readPng, usageError } from './runCli';
import { CLASS_NAMES, IMAGE_SIZE, METHODS, writeTinyPipelines } from './tinyPipelines';

// Grids from tiny pipeline files of every method, as `nextdetail generate` writes them.

let dir: string;
let models: Awaited<ReturnType<typeof writeTinyPipelines>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nextdetail-generate-'));
  models = await writeTinyPipelines(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function generate(method: keyof typeof models, out: string, ...args: string[]) {
  const extra = method === 'nvg' ? ['--structure-steps', '2'] : [];
  return nextdetail('generate', '--model', models[method], '--backend', 'wasm', '--out', join(dir, out), ...extra, ...args);
}

describe('nextdetail generate', () => {
  it.each(METHODS)('%s: a labelled grid of 2 classes × 3 images, one row per class', (method) => {
    const r = generate(method, `${method}.png`, '--class', 'Trouser', '8', '--per-class', '3', '--seed', '1');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`images          6 at ${IMAGE_SIZE}×${IMAGE_SIZE} (2 classes × 3)`);
    const png = readPng(join(dir, `${method}.png`));
    const side = IMAGE_SIZE * tileScale(IMAGE_SIZE);
    const [height, width] = gridSize(2, 3, [side, side], Math.max('Trouser'.length, CLASS_NAMES[8]!.length));
    expect([png.width, png.height]).toEqual([width, height]);
  });

  it.each(['var', 'nvg'] as const)('%s: the same seed gives the same grid, another seed another one', (method) => {
    const args = ['--class', '0', '5', '--per-class', '2', '--top-k', '8', '--cfg', '2'];
    for (const [file, seed] of [['a.png', '4'], ['b.png', '4'], ['c.png', '5']] as const) {
      const r = generate(method, `${method}-${file}`, ...args, '--seed', seed);
      expect(r.status, r.stderr).toBe(0);
    }
    const bytes = (f: string) => readFileSync(join(dir, `${method}-${f}`));
    expect(bytes('b.png').equals(bytes('a.png'))).toBe(true);
    expect(bytes('c.png').equals(bytes('a.png'))).toBe(false);
  });

  it('nvg: structure maps from the content prediction, reproducible and unlike the flow\'s', () => {
    const args = ['--class', '2', '--per-class', '2', '--seed', '3'];
    const runs = [
      ['pred-a.png', '--structure-source', 'prediction', '--structure-refinements', '2'],
      ['pred-b.png', '--structure-source', 'prediction', '--structure-refinements', '2'],
      ['flow.png', '--structure-source', 'flow'],
      ['pred-cfg.png', '--structure-source', 'prediction', '--structure-refinements', '2', '--structure-cfg', '4,1'],
    ] as const;
    for (const [file, ...flags] of runs) {
      const r = generate('nvg', file, ...args, ...flags);
      expect(r.status, r.stderr).toBe(0);
    }
    const bytes = (f: string) => readFileSync(join(dir, f));
    expect(bytes('pred-b.png').equals(bytes('pred-a.png'))).toBe(true);
    expect(bytes('flow.png').equals(bytes('pred-a.png'))).toBe(false);
    expect(bytes('pred-cfg.png').equals(bytes('pred-a.png'))).toBe(false);
  });

  it('flexvar: any size and step count, with a preview per step', () => {
    const steps = join(dir, 'flex-steps');
    const r = generate('flexvar', 'flex.png', '--class', 'bag', '--per-class', '2', '--size', '12,16', '--steps', '5', '--steps-out', steps);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('images          2 at 12×16');
    const files = readdirSync(steps).sort();
    expect(files).toHaveLength(5);
    expect(files[0]).toBe('step_01_1x1.png');
    expect(files[4]).toBe('step_05_6x8.png');
    const scale = tileScale(16);
    const [height, width] = gridSize(1, 2, [12 * scale, 16 * scale], 'Bag'.length);
    for (const f of [join(dir, 'flex.png'), ...files.map((f) => join(steps, f))]) {
      const png = readPng(f);
      expect([f, png.width, png.height]).toEqual([f, width, height]);
    }
  });

  it('rejects bad flags with one line naming the flag', () => {
    expect(usageError(generate('var', 'x.png', '--class', 'shoe'))).toMatch(/--class.*"shoe"/);
    expect(usageError(generate('var', 'x.png', '--per-class', '0'))).toMatch(/--per-class/);
    expect(usageError(generate('var', 'x.png', '--size', '16,16'))).toMatch(/--size.*FlexVAR/);
    expect(usageError(generate('flexvar', 'x.png', '--size', '13'))).toMatch(/--size.*multiples of 2/);
    expect(usageError(generate('var', 'x.png', '--top-k', '-2'))).toMatch(/--top-k/);
    expect(usageError(generate('var', 'x.png', '--cfg', 'strong'))).toMatch(/--cfg/);
    expect(usageError(generate('var', 'x.png', '--structure-steps', '3'))).toMatch(/--structure-steps.*NVG/);
    expect(usageError(generate('var', 'x.png', '--structure-source', 'prediction'))).toMatch(/--structure-source.*NVG/);
    expect(usageError(generate('nvg', 'x.png', '--structure-source', 'x0'))).toMatch(/--structure-source.*x0/);
    expect(usageError(generate('nvg', 'x.png', '--structure-refinements', '-1'))).toMatch(/--structure-refinements.*-1/);
    expect(usageError(generate('nvg', 'x.png', '--structure-cfg', '1,2,3'))).toMatch(/--structure-cfg.*start,end.*1,2,3/);
    expect(usageError(generate('nvg', 'x.png', '--structure-cfg', 'strong'))).toMatch(/--structure-cfg/);
    expect(usageError(nextdetail('generate', '--model', join(dir, 'missing.safetensors'), '--backend', 'wasm'))).toMatch(/--model/);
    expect(usageError(nextdetail('generate', '--backend', 'wasm'))).toMatch(/--model/);
  });
});
