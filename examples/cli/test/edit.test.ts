import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { disposePipeline, loadPipeline } from '@nextdetail/samplers';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridSize, tileScale } from '../src/render/labelledGrid';
import { nextdetail, readPng, usageError } from './runCli';
import { IMAGE_SIZE, writeTinyPipelines } from './tinyPipelines';

// In- and out-painting with tiny pipeline files through the built CLI.

let dir: string;
let models: Awaited<ReturnType<typeof writeTinyPipelines>>;

/** An RGB gradient of side `side` with a bright square, so every region has its own content. */
function testImage(side: number): PNG {
  const png = new PNG({ width: side, height: side });
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = (y * side + x) * 4;
      const square = x >= 2 && x < 5 && y >= 1 && y < 4;
      png.data[i] = square ? 250 : x * 30;
      png.data[i + 1] = square ? 240 : y * 30;
      png.data[i + 2] = 128;
      png.data[i + 3] = 255;
    }
  }
  return png;
}

/** The tokenizer's reconstruction of the input, as 8-bit RGB (what the result is compared with). */
async function reconstruction(model: string, image: PNG): Promise<Uint8Array> {
  const pipeline = await loadPipeline(new Uint8Array(readFileSync(model)));
  try {
    const rgb = Float32Array.from({ length: image.width * image.height * 3 }, (_, i) => image.data[Math.floor(i / 3) * 4 + (i % 3)]! / 127.5 - 1);
    const x = tf.tensor4d(rgb, [1, image.height, image.width, 3]);
    const plan = await pipeline.tokenizer.encode(x);
    const y = pipeline.tokenizer.decode(plan);
    const bytes = tf.tidy(() => tf.round(tf.mul(tf.clipByValue(tf.div(tf.add(y, 1), 2), 0, 1), 255)));
    const out = Uint8Array.from(await bytes.data());
    tf.dispose([x, y, bytes, ...plan.steps.map((s) => s.idx_Bl)]);
    return out;
  } finally {
    disposePipeline(pipeline);
  }
}

/** Largest |result − reference| over the RGB samples, in 8-bit units. */
function maxError(result: PNG, reference: Uint8Array): number {
  let worst = 0;
  for (let p = 0; p < result.width * result.height; p++) {
    for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(result.data[p * 4 + c]! - reference[p * 3 + c]!));
  }
  return worst;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nextdetail-edit-'));
  models = await writeTinyPipelines(dir, ['var', 'cart', 'flexvar', 'nvg']);
  writeFileSync(join(dir, 'in8.png'), PNG.sync.write(testImage(IMAGE_SIZE)));
  writeFileSync(join(dir, 'in6.png'), PNG.sync.write(testImage(6)));
  // White marks the hole: the right half.
  const mask = new PNG({ width: 4, height: 4 });
  for (let p = 0; p < 16; p++) mask.data.fill(p % 4 >= 2 ? 255 : 0, 4 * p, 4 * p + 3).fill(255, 4 * p + 3, 4 * p + 4);
  writeFileSync(join(dir, 'mask.png'), PNG.sync.write(mask));
  const black = new PNG({ width: 4, height: 4 });
  for (let p = 0; p < 16; p++) black.data.fill(0, 4 * p, 4 * p + 3).fill(255, 4 * p + 3, 4 * p + 4);
  writeFileSync(join(dir, 'black.png'), PNG.sync.write(black));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const edit = (command: string, method: keyof typeof models, out: string, ...args: string[]) =>
  nextdetail(command, '--model', models[method], '--backend', 'wasm', '--out', join(dir, out), '--seed', '3', '--top-k', '8', ...args);

describe('nextdetail inpaint', () => {
  it.each(['var', 'cart', 'flexvar'] as const)('%s: a mask that keeps everything gives back the reconstruction exactly', async (method) => {
    const r = edit('inpaint', method, `${method}-all.png`, '--image', join(dir, 'in8.png'), '--mask', join(dir, 'black.png'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('unconditional: kept 0.0000');
    const result = readPng(join(dir, `${method}-all.png`));
    const reference = await reconstruction(models[method], testImage(IMAGE_SIZE));
    expect(maxError(result, reference)).toBeLessThanOrEqual(1);
  });

  it.each(['var', 'cart', 'flexvar'] as const)('%s: a half hole is regenerated per class, the known half stays near the reconstruction', async (method) => {
    const r = edit('inpaint', method, `${method}-half.png`, '--image', join(dir, 'in8.png'), '--box', '4,0,4,8', '--class', 'Coat', 'Bag');
    expect(r.status, r.stderr).toBe(0);
    const result = readPng(join(dir, `${method}-half.png`));
    // Two classes: two results side by side (4 px apart), and a sheet row each of input | reconstruction | result.
    expect([result.width, result.height]).toEqual([2 * IMAGE_SIZE + 4, IMAGE_SIZE]);
    const sheet = readPng(join(dir, `${method}-half-sheet.png`));
    const side = IMAGE_SIZE * tileScale(IMAGE_SIZE);
    expect([sheet.height, sheet.width]).toEqual(gridSize(2, 3, [side, side], 'Coat'.length));
    // The tiny tokenizers' 4 × 4 latents let the regenerated half reach every pixel through the coarse scales and the
    // decoder, so the known half is near the reconstruction rather than equal to it.
    for (const name of ['Coat', 'Bag']) {
      const [, kept, regenerated] = new RegExp(`${name}: kept (\\S+), regenerated (\\S+)`).exec(r.stdout) ?? [];
      expect(Number(kept)).toBeLessThan(0.06);
      expect(Number(regenerated)).toBeGreaterThan(0);
    }
  });

  it('reads the hole from a mask PNG on any grid (white = regenerate) and is deterministic by seed', () => {
    const a = edit('inpaint', 'var', 'mask-a.png', '--image', join(dir, 'in8.png'), '--mask', join(dir, 'mask.png'));
    const b = edit('inpaint', 'var', 'mask-b.png', '--image', join(dir, 'in8.png'), '--mask', join(dir, 'mask.png'));
    const box = edit('inpaint', 'var', 'mask-box.png', '--image', join(dir, 'in8.png'), '--box', '4,0,4,8');
    for (const r of [a, b, box]) expect(r.status, r.stderr).toBe(0);
    const bytes = (f: string) => readFileSync(join(dir, f));
    expect(bytes('mask-b.png').equals(bytes('mask-a.png'))).toBe(true);
    // The 4 × 4 mask's right half is the box's hole.
    expect(bytes('mask-box.png').equals(bytes('mask-a.png'))).toBe(true);
  });

  it('rejects bad flags with one line naming the flag', () => {
    const image = ['--image', join(dir, 'in8.png')];
    expect(usageError(edit('inpaint', 'var', 'x.png', ...image, '--box', '6,6,4,4'))).toMatch(/--box.*inside the 8×8 image/);
    expect(usageError(edit('inpaint', 'var', 'x.png', ...image, '--box', '1,2,3'))).toMatch(/--box/);
    expect(usageError(edit('inpaint', 'var', 'x.png', ...image))).toMatch(/--mask.*--box/);
    expect(usageError(edit('inpaint', 'nvg', 'x.png', ...image, '--box', '0,0,2,2'))).toMatch(/--model.*NVG/);
    expect(usageError(edit('inpaint', 'var', 'x.png', '--image', join(dir, 'none.png'), '--box', '0,0,2,2'))).toMatch(/--image/);
    expect(usageError(edit('inpaint', 'var', 'x.png', ...image, '--box', '0,0,2,2', '--class', 'hat'))).toMatch(/--class/);
  });
});

describe('nextdetail outpaint', () => {
  it('var: pads a 6×6 image to the model\'s 8×8', () => {
    const r = edit('outpaint', 'var', 'out-var.png', '--image', join(dir, 'in6.png'), '--pad', '1,1,1,1', '--class', 'Dress');
    expect(r.status, r.stderr).toBe(0);
    const png = readPng(join(dir, 'out-var.png'));
    expect([png.width, png.height]).toEqual([8, 8]);
    expect(r.stdout).toContain('at 1,1 on 8×8');
    const sheet = readPng(join(dir, 'out-var-sheet.png'));
    const side = 8 * tileScale(8);
    expect([sheet.height, sheet.width]).toEqual(gridSize(1, 3, [side, side], 'Dress'.length));
  });

  it('flexvar: extends to another aspect ratio with --size (centred)', () => {
    const r = edit('outpaint', 'flexvar', 'out-flex.png', '--image', join(dir, 'in6.png'), '--size', '8,12');
    expect(r.status, r.stderr).toBe(0);
    const png = readPng(join(dir, 'out-flex.png'));
    expect([png.width, png.height]).toEqual([12, 8]);
    expect(r.stdout).toContain('at 1,3 on 8×12');
  });

  it('rejects bad flags with one line naming the flag', () => {
    const image = ['--image', join(dir, 'in6.png')];
    expect(usageError(edit('outpaint', 'var', 'x.png', ...image, '--pad', '2,2,2,2'))).toMatch(/--pad.*8×8 canvas/);
    expect(usageError(edit('outpaint', 'flexvar', 'x.png', ...image, '--size', '9,12'))).toMatch(/--size.*multiples of 2/);
    expect(usageError(edit('outpaint', 'var', 'x.png', ...image, '--size', '4,4'))).toMatch(/--size.*larger than the 6×6 input/);
    expect(usageError(edit('outpaint', 'var', 'x.png', ...image))).toMatch(/--pad.*--size/);
    expect(usageError(edit('outpaint', 'var', 'x.png', ...image, '--pad', '1,1,-1,1'))).toMatch(/--pad/);
  });
});
