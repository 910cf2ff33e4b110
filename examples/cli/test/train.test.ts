// Runs the built CLI (`node dist/cli.js`): build first (`npx turbo run build --filter=@nextdetail/example-cli...`).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, useBackend } from '@nextdetail/core';
import { disposePipeline, loadPipeline } from '@nextdetail/samplers';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, nextdetailAsync as nextdetail } from './runCli';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
// The tiny preset on a dozen Fashion-MNIST images: 3 steps per epoch, 2 steps in all — seconds per run on wasm.
const SMALL_RUN = ['--preset', 'tiny', '--steps', '2', '--batch', '4', '--limit', '12', '--backend', 'wasm'];
const METHODS = ['var', 'cart', 'flexvar', 'nvg'] as const;


function expectOk(r: CliResult): void {
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

/** Every tensor of two safetensors files, byte for byte (metadata such as dates may differ). */
async function sameTensors(a: string, b: string): Promise<boolean> {
  const [x, y] = [await readSafetensors(readFileSync(a)), await readSafetensors(readFileSync(b))];
  if (x.keys().join() !== y.keys().join()) return false;
  for (const name of x.keys()) {
    const [p, q] = [await x.rawTensor(name), await y.rawTensor(name)];
    if (!Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).equals(Buffer.from(q.data.buffer, q.data.byteOffset, q.data.byteLength))) return false;
  }
  return true;
}

function png(path: string): PNG {
  return PNG.sync.read(readFileSync(path));
}

let dir: string;
beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npx turbo run build)`);
  dir = mkdtempSync(join(tmpdir(), 'nextdetail-train-'));
  await useBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(METHODS)('nextdetail train-tokenizer + train --method %s', (method) => {
  const tok = () => join(dir, `${method}-tok`);
  const gen = () => join(dir, `${method}-gen`);

  it('trains a tokenizer, then a generator on it; the pipeline file loads with its class names', async () => {
    const t = await nextdetail('train-tokenizer', '--method', method, ...SMALL_RUN, '--out', tok());
    expectOk(t);
    expect(t.stdout).toContain(`reproduce       nextdetail train-tokenizer --method ${method} --preset tiny --steps 2`);
    const reconstructions = png(join(tok(), 'reconstructions.png'));
    expect(reconstructions.width).toBeGreaterThan(10 * 32);
    expect(png(join(tok(), 'loss.png')).width).toBeGreaterThan(0);

    const g = await nextdetail('train', '--tokenizer', join(tok(), 'tokenizer.safetensors'), ...SMALL_RUN, '--out', gen());
    expectOk(g);
    const pipeline = await loadPipeline(readFileSync(join(gen(), 'model.safetensors')));
    expect(pipeline.method).toBe(method);
    expect(pipeline.info.classNames).toHaveLength(10);
    expect(pipeline.info.imageSize).toBe(32);
    expect(pipeline.info.training).toMatchObject({ steps: 2, images: 12 });
    disposePipeline(pipeline);
    if (method === 'nvg') {
      // NVG's scale factors come from the data: 1 for stage 0, then 1/RMS of each stage's canvas and of the final one.
      const printed = /scale factors {3}([\d., ]+) \(1\/RMS/.exec(g.stdout)?.[1]?.split(', ').map(Number);
      const file = await readSafetensors(readFileSync(join(gen(), 'model.safetensors')));
      const stored = Array.from((await file.rawTensor('generator.scale_factors')).data as Float32Array);
      expect(printed).toHaveLength(stored.length);
      expect(stored[0]).toBe(1);
      stored.forEach((f, i) => expect(f).toBeCloseTo(printed![i]!, 3));
      expect(stored.slice(1).every((f) => f > 0 && f !== 1)).toBe(true);
      // Its token head starts as the tokenizer's nearest-code rule, bias −|e_v|²/τ, which 2 small steps barely move.
      const tau = Number(/token head {6}the tokenizer's nearest-code rule, temperature ([\d.e-]+)/.exec(g.stdout)?.[1]);
      expect(tau).toBeGreaterThan(0);
      const codebook = await (await readSafetensors(readFileSync(join(tok(), 'tokenizer.safetensors')))).rawTensor('quantize.embedding.weight');
      const [vocab, channels] = codebook.shape as [number, number];
      const bias = (await file.rawTensor('generator.cls_head.linear.bias')).data as Float32Array;
      for (let v = 0; v < vocab; v++) {
        let norm = 0;
        for (let c = 0; c < channels; c++) norm += Number(codebook.data[v * channels + c]) ** 2;
        // τ is printed to 3 significant digits.
        expect(Math.abs(bias[v]! + norm / tau)).toBeLessThan(2e-3 * (norm / tau) + 0.05);
      }
    } else {
      expect(g.stdout).not.toContain('scale factors');
      expect(g.stdout).not.toContain('token head');
    }
    // One epoch is 3 steps of 4: the 2 steps end inside the first, whose grid is written at the end.
    const grid = png(join(gen(), 'samples-epoch-1.png'));
    expect(grid.height).toBeGreaterThan(10 * 32);
    expect(png(join(gen(), 'loss.png')).height).toBeGreaterThan(0);
  });

  it('train --stop-at 1, then --resume, ends exactly where an uninterrupted run does', async () => {
    const resumed = join(dir, `${method}-gen-resumed`);
    const args = ['train', '--tokenizer', join(tok(), 'tokenizer.safetensors'), ...SMALL_RUN, '--out', resumed];
    const first = await nextdetail(...args, '--stop-at', '1');
    expectOk(first);
    expect(first.stdout).toContain('stopped         at step 1 of 2');
    expect(existsSync(join(resumed, 'model.safetensors'))).toBe(false);
    expect(png(join(resumed, 'loss.png')).height).toBeGreaterThan(0);
    const second = await nextdetail(...args, '--resume');
    expectOk(second);
    expect(second.stdout).toContain('resumed         at step 1');
    expect(readFileSync(join(resumed, 'state.safetensors')).equals(readFileSync(join(gen(), 'state.safetensors')))).toBe(true);
    expect(await sameTensors(join(resumed, 'model.safetensors'), join(gen(), 'model.safetensors'))).toBe(true);
  });
});

describe('nextdetail train-tokenizer --resume', () => {
  it('--stop-at 1, then --resume, gives the tokenizer of an uninterrupted run', async () => {
    const resumed = join(dir, 'var-tok-resumed');
    const args = ['train-tokenizer', '--method', 'var', ...SMALL_RUN, '--out', resumed];
    const first = await nextdetail(...args, '--stop-at', '1');
    expectOk(first);
    expect(first.stdout).toMatch(/stopped {9}at step 1 of 2; continue with: nextdetail train-tokenizer .*--resume/);
    const second = await nextdetail(...args, '--resume');
    expectOk(second);
    expect(second.stdout).toContain('resumed         at step 1');
    expect(readFileSync(join(resumed, 'state.safetensors')).equals(readFileSync(join(dir, 'var-tok', 'state.safetensors')))).toBe(true);
    expect(await sameTensors(join(resumed, 'tokenizer.safetensors'), join(dir, 'var-tok', 'tokenizer.safetensors'))).toBe(true);
  });
});

describe('nextdetail train --resume --steps', () => {
  it('lengthens a finished run, and records command lines that redo it exactly', async () => {
    const longer = join(dir, 'var-gen-longer');
    cpSync(join(dir, 'var-gen'), longer, { recursive: true });
    const run = await nextdetail('train', '--resume', '--steps', '3', '--backend', 'wasm', '--out', longer);
    expectOk(run);
    expect(run.stdout).toContain('resumed         at step 2');
    expect(run.stdout).toContain('3 steps of 4');
    const progress = JSON.parse(readFileSync(join(longer, 'state.json'), 'utf8'));
    expect(progress).toMatchObject({ step: 3, totalSteps: 3, extensions: [{ atStep: 2, totalSteps: 3 }] });
    expect(progress.losses.cross_entropy).toHaveLength(3);
    const pipeline = await loadPipeline(readFileSync(join(longer, 'model.safetensors')));
    const command = (pipeline.info.training as { command: string }).command;
    disposePipeline(pipeline);
    expect(command).toMatch(/ --steps 2 .* --stop-at 2 && nextdetail train .* --steps 3 .* --resume$/);

    const redone = join(dir, 'var-gen-redone');
    for (const segment of command.split(' && ')) {
      const words = segment.split(' ').slice(1).map((w) => (w === longer ? redone : w));
      expectOk(await nextdetail(...words, '--backend', 'wasm'));
    }
    expect(await sameTensors(join(redone, 'model.safetensors'), join(longer, 'model.safetensors'))).toBe(true);
  });

  it('refuses a length shorter than the steps already done, naming --steps', async () => {
    const run = await nextdetail('train', '--resume', '--steps', '1', '--backend', 'wasm', '--out', join(dir, 'var-gen'));
    expect(run.status).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/--steps.*at least the 2 steps.*1/)]);
  });
});

describe('nextdetail train --init, --parts and convert --structure-from', () => {
  /** The names of a pipeline file's tensors that `pick` selects, with their bytes. */
  async function tensors(path: string, pick: (name: string) => boolean): Promise<Map<string, Buffer>> {
    const file = await readSafetensors(readFileSync(path));
    const out = new Map<string, Buffer>();
    for (const name of file.keys().filter(pick)) {
      const { data } = await file.rawTensor(name);
      out.set(name, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    }
    return out;
  }
  const isStructure = (name: string) => name.startsWith('generator.structure_');
  const isContent = (name: string) => name.startsWith('generator.') && !isStructure(name) && !/rope_ids|scale_factors/.test(name);
  const same = (a: Map<string, Buffer>, b: Map<string, Buffer>) => a.size > 0 && [...a].every(([k, v]) => b.get(k)?.equals(v));
  const differ = (a: Map<string, Buffer>, b: Map<string, Buffer>) => a.size > 0 && [...a].every(([k, v]) => !b.get(k)!.equals(v));
  const fineTune = (out: string, ...more: string[]) =>
    nextdetail('train', '--tokenizer', join(dir, 'nvg-tok', 'tokenizer.safetensors'), '--init', join(dir, 'nvg-gen', 'model.safetensors'), ...SMALL_RUN, ...more, '--out', out);

  it('--parts content and --parts structure fine-tune one network of the --init pipeline each; convert joins them', async () => {
    const init = join(dir, 'nvg-gen', 'model.safetensors');
    const [content, structure] = [join(dir, 'nvg-ft-content'), join(dir, 'nvg-ft-structure')];
    const c = await fineTune(content, '--parts', 'content');
    expectOk(c);
    expect(c.stdout).toContain(`fine-tuning     the generator of ${init}`);
    expect(c.stdout).toMatch(/losses {10}content [\d.]+, content_mse [\d.]+, content_ce [\d.]+\n/);
    expect(c.stdout).toMatch(/reproduce       nextdetail train --tokenizer \S+ --init \S+ --parts content --method nvg /);
    expectOk(await fineTune(structure, '--parts', 'structure'));
    const [cm, sm] = [join(content, 'model.safetensors'), join(structure, 'model.safetensors')];
    // Each run moved its own network away from the --init weights and left the other as it was.
    expect(differ(await tensors(cm, isContent), await tensors(init, isContent))).toBe(true);
    expect(same(await tensors(cm, isStructure), await tensors(init, isStructure))).toBe(true);
    expect(differ(await tensors(sm, isStructure), await tensors(init, isStructure))).toBe(true);
    expect(same(await tensors(sm, isContent), await tensors(init, isContent))).toBe(true);

    const joined = join(dir, 'nvg-joined.safetensors');
    const j = await nextdetail('convert', cm, '--structure-from', sm, '--dtype', 'float32', '--out', joined);
    expectOk(j);
    expect(j.stdout).toContain(`structure flow  from ${sm}`);
    expect(same(await tensors(joined, isContent), await tensors(cm, isContent))).toBe(true);
    expect(same(await tensors(joined, isStructure), await tensors(sm, isStructure))).toBe(true);
    const pipeline = await loadPipeline(readFileSync(joined));
    const training = pipeline.info.training as { command: string; structureTraining: { command: string } };
    disposePipeline(pipeline);
    expect(training.command).toContain('--parts content');
    expect(training.structureTraining.command).toContain('--parts structure');
  });

  it('a fine-tuning run stopped and resumed ends where an uninterrupted one does', async () => {
    const resumed = join(dir, 'nvg-ft-content-resumed');
    expectOk(await fineTune(resumed, '--parts', 'content', '--stop-at', '1'));
    const second = await nextdetail('train', '--resume', '--backend', 'wasm', '--out', resumed);
    expectOk(second);
    expect(await sameTensors(join(resumed, 'model.safetensors'), join(dir, 'nvg-ft-content', 'model.safetensors'))).toBe(true);
  });

  it('refuses --parts for a method without parts, --init of another tokenizer or method, and --structure-from a non-NVG file, one line each naming the flag', async () => {
    const varTokenizer = join(dir, 'var-tok', 'tokenizer.safetensors');
    const cases: [string[], RegExp][] = [
      [['train', '--tokenizer', varTokenizer, '--parts', 'content', ...SMALL_RUN], /--parts.*only NVG has parts/],
      [['train', '--tokenizer', varTokenizer, '--init', join(dir, 'nvg-gen', 'model.safetensors'), ...SMALL_RUN], /--init.*a var pipeline file.*method "nvg"/],
      [['train', '--tokenizer', varTokenizer, '--init', join(dir, 'cart-gen', 'model.safetensors'), ...SMALL_RUN], /--init.*a var pipeline file.*method "cart"/],
      [['train', '--tokenizer', join(dir, 'nvg-tok', 'tokenizer.safetensors'), '--init', join(dir, 'nvg-gen', 'model.safetensors'), '--parts', 'heads', ...SMALL_RUN], /--parts.*one of both, content, structure/],
      [['convert', join(dir, 'nvg-gen', 'model.safetensors'), '--structure-from', join(dir, 'var-gen', 'model.safetensors')], /--structure-from.*an NVG pipeline file/],
    ];
    for (const [args, message] of cases) {
      const r = await nextdetail(...args, '--out', join(dir, 'bad-init'));
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
    }
  });

  it('refuses --init of a pipeline trained on another tokenizer of the same method', async () => {
    const other = join(dir, 'var-tok-other');
    expectOk(await nextdetail('train-tokenizer', '--method', 'var', ...SMALL_RUN, '--seed', '5', '--out', other));
    const r = await nextdetail('train', '--tokenizer', join(other, 'tokenizer.safetensors'), '--init', join(dir, 'var-gen', 'model.safetensors'), ...SMALL_RUN, '--out', join(dir, 'bad-init'));
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/--init.*the same tokenizer tensors.*differs/)]);
  });
});

describe('nextdetail train-tokenizer + train --data <folder>', () => {
  it('trains on a folder of PNGs with class sub-folders; the pipeline carries the folder names as classes', async () => {
    const data = join(dir, 'folder');
    ['circle', 'square'].forEach((name, c) => {
      mkdirSync(join(data, name), { recursive: true });
      for (let i = 0; i < 4; i++) {
        const image = new PNG({ width: 40, height: 40 });
        for (let y = 0; y < 40; y++) {
          for (let x = 0; x < 40; x++) {
            const inside = c === 0 ? (x - 20) ** 2 + (y - 20) ** 2 < (8 + i) ** 2 : Math.abs(x - 20) < 8 + i && Math.abs(y - 20) < 8 + i;
            image.data.set(inside ? [230, 40 * i, 60, 255] : [20, 20, 20, 255], (y * 40 + x) * 4);
          }
        }
        writeFileSync(join(data, name, `${i}.png`), PNG.sync.write(image));
      }
    });
    const run = ['--preset', 'tiny', '--steps', '1', '--batch', '4', '--backend', 'wasm', '--data', data];
    expectOk(await nextdetail('train-tokenizer', '--method', 'var', ...run, '--out', join(dir, 'folder-tok')));
    expectOk(await nextdetail('train', '--tokenizer', join(dir, 'folder-tok', 'tokenizer.safetensors'), ...run, '--out', join(dir, 'folder-gen')));
    const pipeline = await loadPipeline(readFileSync(join(dir, 'folder-gen', 'model.safetensors')));
    expect(pipeline.info.classNames).toEqual(['circle', 'square']);
    disposePipeline(pipeline);
    expect(png(join(dir, 'folder-gen', 'samples-epoch-1.png')).height).toBeGreaterThan(2 * 32);
  });
});

describe('bad flags give one-line errors naming the flag', () => {
  it.each([
    [['train-tokenizer', '--method', 'vae'], '--method'],
    [['train-tokenizer'], '--method'],
    [['train-tokenizer', '--method', 'var', '--steps', '0'], '--steps'],
    [['train-tokenizer', '--method', 'var', '--steps', '2', '--epochs', '1'], '--epochs'],
    [['train-tokenizer', '--method', 'var', '--lr', '3'], '--lr'],
    [['train-tokenizer', '--method', 'var', '--batch', 'many'], '--batch'],
    [['train-tokenizer', '--method', 'var', '--preset', 'huge'], '--preset'],
    [['train', '--tokenizer', 'no-such-file.safetensors'], '--tokenizer'],
    [['train'], '--tokenizer'],
    [['train-tokenizer', '--method', 'nvg', '--data', '.', '--image-size', '48'], '--image-size'],
  ])('%j', async (args, flag) => {
    const out = join(dir, 'bad');
    const r = await nextdetail(...args, '--out', out);
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(flag);
  });

  it('--resume without a saved state, and --data that is not a folder', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const resume = await nextdetail('train-tokenizer', '--method', 'var', '--resume', '--out', empty);
    expect(resume.stderr.trim().split('\n')).toEqual([expect.stringContaining('--resume')]);
    const data = await nextdetail('train-tokenizer', '--method', 'var', '--data', join(dir, 'nowhere'), '--backend', 'cpu', '--out', empty);
    expect(data.stderr.trim().split('\n')).toEqual([expect.stringContaining('--data')]);
  });
});
