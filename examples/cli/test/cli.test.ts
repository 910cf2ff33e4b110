// Runs the built CLI as a user would (`node dist/cli.js`), so build first (`npx turbo run build`; npm test does).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const WIDTH = 24;
const HEIGHT = 20;

function nextdetail(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** An RGB image with a vertical edge and a fine checker texture, so every layer has something in it. */
function testImage(): PNG {
  const png = new PNG({ width: WIDTH, height: HEIGHT });
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const i = (y * WIDTH + x) * 4;
      const level = (x < WIDTH / 2 ? 60 : 190) + ((x + y) % 2) * 30;
      png.data[i] = level;
      png.data[i + 1] = 255 - level;
      png.data[i + 2] = (x * 10) % 256;
      png.data[i + 3] = 255;
    }
  }
  return png;
}

describe('nextdetail decompose', () => {
  let dir: string;
  let input: PNG;
  let result: ReturnType<typeof nextdetail>;

  beforeAll(() => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npx turbo run build)`);
    dir = mkdtempSync(join(tmpdir(), 'nextdetail-cli-'));
    input = testImage();
    writeFileSync(join(dir, 'input.png'), PNG.sync.write(input));
    result = nextdetail('decompose', join(dir, 'input.png'), '--order', '2', '--backend', 'cpu', '--out', join(dir, 'out'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const read = (file: string) => PNG.sync.read(readFileSync(join(dir, 'out', file)));

  it('succeeds and reports a float-exact reconstruction', () => {
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const error = /max\|I − B − ΣD\| = (\S+)/.exec(result.stdout)?.[1];
    expect(Number(error)).toBeLessThan(1e-5);
  });

  it('writes every layer as a PNG of the input size', () => {
    for (const file of ['base.png', 'detail_1.png', 'detail_2.png', 'edges_1.png', 'edges_2.png', 'reconstruction.png']) {
      const png = read(file);
      expect([file, png.width, png.height]).toEqual([file, WIDTH, HEIGHT]);
    }
  });

  it('lays the contact sheet out as input | base | 2 details | 2 edge fields', () => {
    const sheet = read('sheet.png');
    expect([sheet.width, sheet.height]).toEqual([6 * WIDTH + 5 * 4, HEIGHT]);
  });

  it('reconstructs the input within 1/255', () => {
    const reconstruction = read('reconstruction.png');
    let worst = 0;
    for (let i = 0; i < input.data.length; i++) {
      if (i % 4 !== 3) worst = Math.max(worst, Math.abs(reconstruction.data[i]! - input.data[i]!));
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it.each([
    { args: ['--order', '-1'], names: '--order' },
    { args: ['--order', '1.5'], names: '--order' },
    { args: ['--alpha', 'abc'], names: '--alpha' },
    { args: ['--radius', '3'], names: '--radius' },
    { args: ['--backend', 'gpu'], names: '--backend' },
  ])('rejects $args with one line naming $names', ({ args, names }) => {
    const r = nextdetail('decompose', join(dir, 'input.png'), '--backend', 'cpu', '--out', join(dir, 'rejected'), ...args);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining(names)]);
  });

  it('rejects a missing input file with one line naming it', () => {
    const missing = join(dir, 'missing.png');
    const r = nextdetail('decompose', missing, '--backend', 'cpu', '--out', join(dir, 'rejected'));
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: input: .*missing\.png/)]);
  });
});
