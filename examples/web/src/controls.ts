import type { PipelineMethod, PipelineSampling } from '@nextdetail/samplers';
import type { GenerationSettings } from './generation.js';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html has no #${id}`);
  return found as T;
}

/** The page's elements, found once. */
export const ui = {
  backend: element<HTMLParagraphElement>('backend'),
  status: element<HTMLParagraphElement>('status'),
  model: element<HTMLSelectElement>('model'),
  classLabel: element<HTMLSelectElement>('class'),
  seed: element<HTMLInputElement>('seed'),
  randomSeed: element<HTMLButtonElement>('random-seed'),
  cfg: element<HTMLInputElement>('cfg'),
  topK: element<HTMLInputElement>('top-k'),
  nvgOptions: element<HTMLFieldSetElement>('nvg-options'),
  contentCfg: element<HTMLInputElement>('content-cfg'),
  structureCfg: element<HTMLInputElement>('structure-cfg'),
  structureCfgStart: element<HTMLInputElement>('structure-cfg-start'),
  structureSteps: element<HTMLInputElement>('structure-steps'),
  structureSource: element<HTMLSelectElement>('structure-source'),
  structureRefinements: element<HTMLInputElement>('structure-refinements'),
  useStructure: element<HTMLInputElement>('use-structure'),
  generate: element<HTMLButtonElement>('generate'),
  image: element<HTMLCanvasElement>('image'),
  mask: element<HTMLCanvasElement>('mask'),
  brush: element<HTMLInputElement>('brush'),
  clearMask: element<HTMLButtonElement>('clear-mask'),
  inpaint: element<HTMLButtonElement>('inpaint'),
  maskCoverage: element<HTMLSpanElement>('mask-coverage'),
  steps: element<HTMLDivElement>('steps'),
  regions: element<HTMLParagraphElement>('regions'),
  structure: element<HTMLCanvasElement>('structure'),
  clearStructure: element<HTMLButtonElement>('clear-structure'),
};

/** One option per class name, then "unconditional" (label = class count, the models' null class). */
export function fillClasses(classNames: readonly string[]): void {
  const options = classNames.map((name, i) => new Option(`${i}: ${name}`, String(i)));
  options.push(new Option('unconditional', String(classNames.length)));
  ui.classLabel.replaceChildren(...options);
}

/** Shows a model's recommended sampling settings in the form, and the page's defaults where it recommends none. */
export function showRecommendedSampling(method: PipelineMethod, sampling: PipelineSampling = {}): void {
  const show = (input: HTMLInputElement, value: number | undefined) => {
    input.value = value === undefined ? input.defaultValue : String(value);
  };
  show(ui.cfg, method === 'nvg' ? undefined : sampling.cfg);
  show(ui.contentCfg, method === 'nvg' ? sampling.cfg : undefined);
  show(ui.topK, sampling.topK);
  show(ui.structureSteps, sampling.structureSteps);
  show(ui.structureCfgStart, sampling.structureCfg?.[0]);
  show(ui.structureCfg, sampling.structureCfg?.[1]);
  show(ui.structureRefinements, sampling.structureRefinements);
  ui.structureSource.value = sampling.structureSource ?? 'flow';
}

function numberIn(input: HTMLInputElement, fallback: number): number {
  const v = input.valueAsNumber;
  return Number.isFinite(v) ? v : fallback;
}

/** The settings the form shows now. */
export function readSettings(): GenerationSettings {
  return {
    label: Number(ui.classLabel.value),
    seed: Math.max(0, Math.floor(numberIn(ui.seed, 0))),
    cfg: Math.max(0, numberIn(ui.cfg, 0)),
    topK: Math.max(0, Math.floor(numberIn(ui.topK, 0))),
    nvg: {
      contentCfg: Math.max(0, numberIn(ui.contentCfg, 3.5)),
      structureCfg: [Math.max(0, numberIn(ui.structureCfgStart, 1)), Math.max(0, numberIn(ui.structureCfg, 2.5))],
      structureSteps: Math.max(1, Math.floor(numberIn(ui.structureSteps, 25))),
      structureSource: ui.structureSource.value === 'prediction' ? 'prediction' : 'flow',
      structureRefinements: Math.max(0, Math.floor(numberIn(ui.structureRefinements, 0))),
    },
  };
}

/** Shows a status line; errors are styled as such. */
export function say(message: string, isError = false): void {
  ui.status.textContent = message;
  ui.status.classList.toggle('error', isError);
}
