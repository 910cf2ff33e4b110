// Builds the app with Vite, serves it with `vite preview` on 127.0.0.1 together with a tiny freshly initialised VAR
// pipeline file, and drives it in Debian's chromium (scripts/setup-chromium.sh installs it): load the model, generate
// with every step shown, then in-paint a brush stroke. Screenshots go to test-artifacts/web/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RandomGenerator, useBackend } from '@nextdetail/core';
import { writePipeline } from '@nextdetail/samplers';
import { NvgTokenizerTrainer, VarTokenizerTrainer } from '@nextdetail/tokenizers';
import { NvgGenerator, VarGenerator } from '@nextdetail/transformer';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_NVG_VAE, tinyNvgConfig } from '../../../packages/samplers/test/pipelines';

const appRoot = fileURLToPath(new URL('..', import.meta.url));
const artifacts = fileURLToPath(new URL('../../../test-artifacts/web/', import.meta.url));
const PATCH_NUMS = [1, 2, 3, 4, 6, 8];
const CLASS_NAMES = ['circle', 'square', 'stripe'];
/** VAR's VQVAE halves the image once per level after the first: an 8×8 latent is a 16×16 image. */
const IMAGE_SIZE = 16;
const VAR_CAPTIONS = PATCH_NUMS.map((pn) => `${pn}×${pn} tokens`);
/** NVG over a 4×4 latent (8×8 images): log2(16) + 1 = 5 stages of 1, 2, 4, 8, 16 clusters. */
const NVG_IMAGE_SIZE = 8;
const NVG_CAPTIONS = ['1 cluster', '2 clusters', '4 clusters', '8 clusters', '16 clusters'];

/** A pipeline file of a freshly initialised tiny VAR tokenizer and generator (untrained: the images are noise). */
async function tinyVarPipeline(): Promise<Uint8Array> {
  await useBackend('cpu');
  const vae = { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 4, vocabSize: 16 };
  const quantizer = { vocabSize: 16, cvae: 4, patchNums: PATCH_NUMS, quantResi: 0.5, shareQuantResi: 4 };
  const trainer = VarTokenizerTrainer.create({ vae, patchNums: PATCH_NUMS, quantResi: 0.5, shareQuantResi: 4 }, { seed: 1 });
  const generator = await VarGenerator.init(
    { depth: 1, width: 32, heads: 1, numClasses: CLASS_NAMES.length, vocabSize: 16, latentChannels: 4, patchNums: PATCH_NUMS },
    new RandomGenerator(2),
  );
  try {
    return await writePipeline({
      method: 'var',
      tokenizerStateDict: await trainer.checkpoint(),
      tokenizerConfig: { vae, quantizer },
      generator,
      info: { classNames: CLASS_NAMES, imageSize: IMAGE_SIZE, training: { steps: 0 } },
    });
  } finally {
    trainer.dispose();
    generator.dispose();
  }
}

/** A pipeline file of a freshly initialised tiny NVG autoencoder, granularity quantizer and NVGformer. */
async function tinyNvgPipeline(): Promise<Uint8Array> {
  await useBackend('cpu');
  const vae = TINY_NVG_VAE;
  const trainer = NvgTokenizerTrainer.create({ vae, vocabSize: 16, latentSize: [4, 4] }, { seed: 3 });
  const config = tinyNvgConfig({ latentChannels: vae.embedDim, vocabSize: 16 }, CLASS_NAMES.length);
  const generator = await NvgGenerator.init(config, new RandomGenerator(4));
  try {
    return await writePipeline({
      method: 'nvg',
      tokenizerStateDict: await trainer.checkpoint(),
      tokenizerConfig: { vae },
      generator,
      // Recommended settings, which the form shows on load: 2 flow steps keep the test fast.
      info: {
        classNames: CLASS_NAMES,
        imageSize: NVG_IMAGE_SIZE,
        sampling: { cfg: 2, structureSteps: 2, structureSource: 'prediction', structureRefinements: 1, structureCfg: [3, 1] },
      },
    });
  } finally {
    trainer.dispose();
    generator.dispose();
  }
}

type Pixels = { width: number; height: number; data: number[] };

/** The pixels of a canvas of the page. */
function canvasPixels(page: Page, selector: string): Promise<Pixels> {
  return page.$eval(selector, (c) => {
    const canvas = c as HTMLCanvasElement;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    return { width: canvas.width, height: canvas.height, data: Array.from(data) };
  });
}

/** Opaque, and not one flat colour: the spread of the RGB values over the image. */
function expectImage(p: Pixels, size = IMAGE_SIZE): void {
  expect([p.width, p.height]).toEqual([size, size]);
  const rgb = p.data.filter((_, i) => i % 4 !== 3);
  expect(p.data.filter((_, i) => i % 4 === 3).every((a) => a === 255)).toBe(true);
  expect(Math.max(...rgb) - Math.min(...rgb)).toBeGreaterThan(8);
}

/**
 * Records, while a run is busy, how many step previews the strip holds after each change: steps shown as they are
 * produced appear one at a time before the run ends.
 */
async function watchSteps(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { seen: number[] };
    w.seen = [];
    new MutationObserver(() => {
      if (document.body.dataset.state === 'busy') w.seen.push(document.querySelectorAll('#steps canvas[data-step]').length);
    }).observe(document.getElementById('steps')!, { childList: true });
  });
}

/** Waits for run `n` to finish, then checks the strip showed every step, in order, each a preview image. */
async function expectStepsShown(page: Page, n: number, captions = VAR_CAPTIONS, size = IMAGE_SIZE): Promise<void> {
  await page.waitForSelector(`body[data-run="${n}"][data-state="ready"]`, { timeout: 90_000 });
  const seen = await page.evaluate(() => (window as unknown as { seen: number[] }).seen);
  expect(seen.filter((count, i) => count > (seen[i - 1] ?? 0))).toEqual(captions.map((_, i) => i + 1));
  const steps = await page.$$eval('#steps figure', (figures) =>
    figures.map((f) => {
      const c = f.querySelector('canvas')!;
      return { step: c.dataset.step, caption: f.querySelector('figcaption')!.textContent, width: c.width, height: c.height };
    }),
  );
  expect(steps).toEqual(captions.map((c, i) => ({ step: String(i + 1), caption: `${i + 1}/${captions.length} · ${c}`, width: size, height: size })));
}

describe('web example in chromium', () => {
  let outDir: string;
  let profile: string;
  let shipped: string;
  let server: PreviewServer;
  let context: BrowserContext;
  let base: string;

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'nextdetail-web-dist-'));
    profile = mkdtempSync(join(tmpdir(), 'nextdetail-web-profile-'));
    mkdirSync(artifacts, { recursive: true });
    shipped = mkdtempSync(join(tmpdir(), 'nextdetail-web-models-'));
    const models = { 'tiny-var': await tinyVarPipeline(), 'tiny-nvg': await tinyNvgPipeline() };
    // The build's "shipped" models: a VAR file only, so the other methods show as missing.
    writeFileSync(join(shipped, 'var.safetensors'), models['tiny-var']);
    process.env.NEXTDETAIL_WEB_MODELS = shipped;
    await build({ root: appRoot, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    delete process.env.NEXTDETAIL_WEB_MODELS;
    for (const [name, bytes] of Object.entries(models)) writeFileSync(join(outDir, `${name}.safetensors`), bytes);
    server = await preview({ root: appRoot, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
    base = `http://127.0.0.1:${(server.httpServer.address() as AddressInfo).port}/`;
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1000, height: 1100 },
    });
  });

  afterAll(async () => {
    await context?.close();
    if (server) await new Promise((resolve) => server.httpServer.close(resolve));
    for (const dir of [outDir, profile, shipped]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('generates step by step with the backend notice, then in-paints a brush stroke', async () => {
    const page = await context.newPage();
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    await page.goto(`${base}?model=tiny-var.safetensors`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 60_000 }).catch((err: unknown) => {
      throw new Error(`the page did not get ready: ${String(err)}\n${log.join('\n')}`);
    });

    // A file without recommended sampling settings leaves the page's defaults.
    expect(await page.inputValue('#cfg')).toBe('1.5');
    const backend = await page.$eval('#backend', (p) => ({ name: (p as HTMLElement).dataset.backend, text: p.textContent }));
    console.log(`web example backend: ${backend.text}`);
    expect(backend.text).toMatch(new RegExp(`^Running on ${backend.name}`));
    // Without a GPU (chromium offers only SwiftShader's software WebGPU, or none) WebGPU is skipped with its reason and
    // wasm, its binaries served by the app, runs.
    if (backend.name !== 'webgpu') {
      expect(backend.text).toMatch(/webgpu skipped: \S/);
      expect(backend.name).toBe('wasm');
    }
    expect(await page.$$eval('#class option', (o) => o.map((x) => x.textContent))).toEqual(['0: circle', '1: square', '2: stripe', 'unconditional']);

    const tensors = (): Promise<string | null> => page.getAttribute('body', 'data-tensors');
    const loaded = await tensors();
    expect(Number(loaded)).toBeGreaterThan(0);
    await page.selectOption('#class', '1');
    await page.fill('#seed', '7');
    await page.fill('#top-k', '4');
    await watchSteps(page);
    await page.click('#generate');
    await expectStepsShown(page, 1);
    const generated = await canvasPixels(page, '#image');
    expectImage(generated);
    expect(await tensors()).toBe(loaded);
    // The last step's preview is the final image.
    expect(await canvasPixels(page, '#steps canvas[data-step="6"]')).toEqual(generated);
    expect(await page.textContent('#status')).toMatch(new RegExp(`^Done: generated a 16×16 image .* on ${backend.name}\\.$`));
    await page.screenshot({ path: join(artifacts, 'generate.png'), fullPage: true });

    // A stroke across the left half of the image (shown 256 px wide, 16 image pixels: 16 px per image pixel).
    const box = (await page.locator('#mask').boundingBox())!;
    await page.mouse.move(box.x + 0.15 * box.width, box.y + 0.2 * box.height);
    await page.mouse.down();
    for (let t = 1; t <= 10; t++) await page.mouse.move(box.x + 0.15 * box.width, box.y + (0.2 + 0.06 * t) * box.height);
    await page.mouse.up();
    const coverage = Number(/(\d+) %/.exec((await page.textContent('#mask-coverage')) ?? '')?.[1]);
    expect(coverage).toBeGreaterThan(5);
    expect(coverage).toBeLessThan(60);
    await page.screenshot({ path: join(artifacts, 'inpaint-mask.png'), fullPage: true });

    await watchSteps(page);
    await page.click('#inpaint');
    await expectStepsShown(page, 2);
    const inpainted = await canvasPixels(page, '#image');
    expectImage(inpainted);
    expect(await tensors()).toBe(loaded);
    expect(await page.textContent('#status')).toMatch(/^Done: in-painted a 16×16 image/);
    // The brush is cleared for the next edit, and the in-painted image is another image.
    expect(await page.textContent('#mask-coverage')).toBe('mask: 0 %');
    expect(inpainted.data).not.toEqual(generated.data);
    await page.screenshot({ path: join(artifacts, 'inpaint-result.png'), fullPage: true });
    expect(log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    await page.close();
  });

  it('NVG: every stage shown as it is produced, free and guided by a painted structure map', async () => {
    const page = await context.newPage();
    await page.goto(`${base}?model=tiny-nvg.safetensors`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 60_000 });
    const loaded = await page.getAttribute('body', 'data-tensors');
    expect(Number(loaded)).toBeGreaterThan(0);
    expect(await page.isDisabled('#inpaint')).toBe(true);
    expect(await page.isDisabled('#use-structure')).toBe(false);
    const recommended = ['#content-cfg', '#structure-steps', '#structure-source', '#structure-refinements', '#structure-cfg-start', '#structure-cfg'];
    expect(await Promise.all(recommended.map((id) => page.inputValue(id)))).toEqual(['2', '2', 'prediction', '1', '3', '1']);
    await page.fill('#seed', '3');
    await watchSteps(page);
    await page.click('#generate');
    await expectStepsShown(page, 1, NVG_CAPTIONS, NVG_IMAGE_SIZE);
    const free = await canvasPixels(page, '#image');
    expectImage(free, NVG_IMAGE_SIZE);

    // Region 1 over the left half of the map: two regions, so the first two stages come from the map.
    const box = (await page.locator('#structure').boundingBox())!;
    await page.fill('#brush', '2');
    await page.mouse.move(box.x + 0.2 * box.width, box.y + 0.1 * box.height);
    await page.mouse.down();
    for (let t = 1; t <= 8; t++) await page.mouse.move(box.x + 0.2 * box.width, box.y + (0.1 + 0.1 * t) * box.height);
    await page.mouse.up();
    const map = await canvasPixels(page, '#structure');
    expect(map.width).toBe(NVG_IMAGE_SIZE);
    expect(new Set(map.data.filter((_, i) => i % 4 === 0)).size).toBe(2);
    await page.check('#use-structure');
    await watchSteps(page);
    await page.click('#generate');
    await expectStepsShown(page, 2, NVG_CAPTIONS, NVG_IMAGE_SIZE);
    const guided = await canvasPixels(page, '#image');
    expectImage(guided, NVG_IMAGE_SIZE);
    // Only the pipeline's own tensors stay alive between runs.
    expect(await page.getAttribute('body', 'data-tensors')).toBe(loaded);
    expect(guided.data).not.toEqual(free.data);
    await page.screenshot({ path: join(artifacts, 'nvg-structure.png'), fullPage: true });

    // The same seed with the structure flow instead of the content prediction draws other structure maps.
    await page.uncheck('#use-structure');
    await page.selectOption('#structure-source', 'flow');
    await watchSteps(page);
    await page.click('#generate');
    await expectStepsShown(page, 3, NVG_CAPTIONS, NVG_IMAGE_SIZE);
    const flow = await canvasPixels(page, '#image');
    expectImage(flow, NVG_IMAGE_SIZE);
    expect(flow.data).not.toEqual(free.data);
    await page.close();
  });

  it('says clearly when a model file is missing', async () => {
    const page = await context.newPage();
    await page.goto(`${base}?model=no-such-model.safetensors`);
    await page.waitForSelector('body[data-state="no-model"]', { timeout: 60_000 });
    expect(await page.textContent('#status')).toMatch(/^Could not load no-such-model\.safetensors\. HTTP 404/);
    expect(await page.isDisabled('#generate')).toBe(true);
    await page.close();
  });

  it('offers the models shipped at build time, and says which are not shipped yet', async () => {
    const page = await context.newPage();
    await page.goto(base);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 60_000 });
    expect(await page.textContent('#status')).toBe('Loaded a VAR pipeline: 3 classes, 16×16 images.');
    expect(await page.$$eval('#model option', (o) => o.map((x) => x.textContent))).toEqual([
      'VAR (models/var.safetensors)',
      'CART (models/cart.safetensors, not shipped yet)',
      'FLEXVAR (models/flexvar.safetensors, not shipped yet)',
      'NVG (models/nvg.safetensors, not shipped yet)',
    ]);
    await page.selectOption('#model', '1');
    await page.waitForSelector('body[data-state="no-model"]');
    expect(await page.textContent('#status')).toMatch(/^models\/cart\.safetensors is not there: .* not been shipped yet/);
    expect(await page.isDisabled('#generate')).toBe(true);
    await page.close();
  });
});
