import * as tf from '@tensorflow/tfjs';
import { disposePipeline, loadPipeline, type Pipeline } from '@nextdetail/samplers';
import { backendOrderFrom, startBackend } from './backend.js';
import { BrushMask } from './brushMask.js';
import { fillClasses, readSettings, say, showRecommendedSampling, ui } from './controls.js';
import { generateImage, inpaintImage, type StepListener } from './generation.js';
import { canvasImage, paint } from './imagePixels.js';
import { downloadModel } from './modelDownload.js';
import { missingModelMessage, modelSources } from './modelSources.js';
import { StepStrip } from './stepStrip.js';
import { REGION_COLOURS, StructureCanvas } from './structureCanvas.js';

let pipeline: Pipeline | undefined;
let runs = 0;
const strip = new StepStrip(ui.steps);
const brushRadius = (): number => ui.brush.valueAsNumber;
const brush = new BrushMask(ui.mask, brushRadius, () => {
  ui.maskCoverage.textContent = `mask: ${Math.round(100 * brush.coverage())} %`;
});
const structure = new StructureCanvas(ui.structure, brushRadius);
const sources = modelSources(location.search);

/** Whether a model is loaded and nothing runs; the buttons follow it. The live tensor count shows leaks. */
function setBusy(busy: boolean): void {
  document.body.dataset.state = busy ? 'busy' : pipeline ? 'ready' : 'no-model';
  document.body.dataset.tensors = String(tf.memory().numTensors);
  ui.generate.disabled = busy || !pipeline;
  ui.inpaint.disabled = busy || !pipeline || pipeline.method === 'nvg' || runs === 0;
  ui.model.disabled = busy;
}

// The main canvas and the strip show every step as it arrives; the timeout lets the browser paint it.
const showStep: StepListener = async (step, steps, detail, pixels) => {
  paint(ui.image, pixels);
  strip.add(step, steps, detail, pixels);
  say(`Step ${step} of ${steps} (${detail})…`);
  await new Promise((resolve) => setTimeout(resolve, 0));
};

async function loadModel(index: number): Promise<void> {
  const source = sources[index]!;
  if (pipeline) disposePipeline(pipeline);
  pipeline = undefined;
  setBusy(true);
  if (!source.available) {
    say(missingModelMessage(source), true);
    setBusy(false);
    return;
  }
  say(`Loading ${source.url}…`);
  const megabytes = (n: number): string => (n / 2 ** 20).toFixed(1);
  try {
    const bytes = await downloadModel(source.url, (received, total) =>
      say(`Loading ${source.url}: ${megabytes(received)}${total ? ` of ${megabytes(total)}` : ''} MB…`),
    );
    pipeline = await loadPipeline(bytes);
  } catch (err) {
    say(`${missingModelMessage(source)} ${err instanceof Error ? err.message : String(err)}`, true);
    setBusy(false);
    return;
  }
  const { classNames, imageSize } = pipeline.info;
  fillClasses(classNames);
  showRecommendedSampling(pipeline.method, pipeline.info.sampling);
  // NVG has its own guidance scales (content, structure) in place of the scale methods' single CFG.
  ui.nvgOptions.disabled = pipeline.method !== 'nvg';
  ui.cfg.disabled = pipeline.method === 'nvg';
  structure.reset(imageSize, imageSize);
  // The previous model's image and steps go: the in-painting brush works on this model's images only.
  strip.clear();
  ui.image.width = ui.image.height = imageSize;
  brush.reset(imageSize, imageSize);
  runs = 0;
  say(`Loaded a ${pipeline.method.toUpperCase()} pipeline: ${classNames.length} classes, ${imageSize}×${imageSize} images.`);
  setBusy(false);
}

async function run(kind: 'generate' | 'inpaint'): Promise<void> {
  const current = pipeline;
  if (!current) return;
  const settings = readSettings();
  if (kind === 'inpaint' && brush.coverage() === 0) {
    say('Paint over the part of the image to regenerate first.', true);
    return;
  }
  setBusy(true);
  strip.clear();
  const started = performance.now();
  const tensors: tf.Tensor[] = [];
  try {
    let pixels: ImageData;
    if (kind === 'inpaint') {
      const image_BHWC = canvasImage(ui.image);
      const keep_BHW = brush.keep();
      tensors.push(image_BHWC, keep_BHW);
      pixels = await inpaintImage(current, image_BHWC, keep_BHW, settings, showStep);
    } else {
      const useMap = current.method === 'nvg' && ui.useStructure.checked;
      const map = useMap ? structure.map() : undefined;
      if (map) tensors.push(map);
      pixels = await generateImage(current, settings, showStep, map);
    }
    paint(ui.image, pixels);
    brush.reset(pixels.width, pixels.height);
    runs++;
    document.body.dataset.run = String(runs);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    say(`Done: ${kind === 'inpaint' ? 'in-painted' : 'generated'} a ${pixels.width}×${pixels.height} image in ${seconds} s on ${tf.getBackend()}.`);
  } catch (err) {
    say(`${kind === 'inpaint' ? 'In-painting' : 'Generation'} failed: ${err instanceof Error ? err.message : String(err)}`, true);
  } finally {
    tf.dispose(tensors);
    setBusy(false);
  }
}

function regionButtons(): void {
  const buttons = REGION_COLOURS.map((colour, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = i === 0 ? 'background' : `region ${i}`;
    b.style.borderLeft = `1.2em solid ${colour}`;
    b.setAttribute('aria-pressed', String(i === structure.region));
    b.addEventListener('click', () => {
      structure.region = i;
      buttons.forEach((other, j) => other.setAttribute('aria-pressed', String(j === i)));
    });
    return b;
  });
  ui.regions.replaceChildren(...buttons);
}

async function start(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const choice = await startBackend(backendOrderFrom(params.get('backend')));
  const why = choice.skipped.map((s) => `${s.name} skipped: ${s.reason}`).join(' · ');
  ui.backend.textContent = `Running on ${choice.name}${choice.details.length ? ` (${choice.details.join('; ')})` : ''}.${why ? ` ${why}` : ''}`;
  ui.backend.dataset.backend = choice.name;
  ui.backend.classList.toggle('fallback', choice.name !== 'webgpu');

  ui.model.replaceChildren(...sources.map((s, i) => new Option(s.label, String(i))));
  ui.model.addEventListener('change', () => void loadModel(Number(ui.model.value)));
  ui.randomSeed.addEventListener('click', () => {
    ui.seed.value = String(Math.floor(Math.random() * 2 ** 31));
  });
  ui.generate.addEventListener('click', () => void run('generate'));
  ui.inpaint.addEventListener('click', () => void run('inpaint'));
  ui.clearMask.addEventListener('click', () => brush.clear());
  ui.clearStructure.addEventListener('click', () => pipeline && structure.reset(pipeline.info.imageSize, pipeline.info.imageSize));
  regionButtons();

  const first = Math.max(0, sources.findIndex((s) => s.available));
  ui.model.value = String(first);
  await loadModel(first);
}

start().catch((err: unknown) => {
  document.body.dataset.state = 'failed';
  say(`Could not start: ${err instanceof Error ? err.message : String(err)}`, true);
});
