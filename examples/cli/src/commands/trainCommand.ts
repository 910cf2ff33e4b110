import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@nextdetail/core';
import type { NvgTokenizer } from '@nextdetail/tokenizers';
import type { NvgGenerator } from '@nextdetail/transformer';
import { writePipeline } from '@nextdetail/samplers';
import { Command } from 'commander';
import { describeBackend, startBackend } from '../backend.js';
import { encodePng } from '../png.js';
import { createGeneratorRun } from '../train/generatorRun.js';
import { generatorConfig } from '../train/generatorSetup.js';
import { batchTensors, type LabelledImages } from '../data/labelledImages.js';
import { initialGenerator } from '../train/initialGenerator.js';
import { type NvgCalibration, nvgCalibration, setNearestCodeTokenHead } from '../train/nvgCalibration.js';
import { NVG_PARTS, type NvgParts } from '../train/nvgGeneratorRun.js';
import { checkChoice, METHODS, PRESET_SIZES } from '../train/presets.js';
import { loadRunState } from '../train/runState.js';
import { sampleGrid } from '../train/sampleGrid.js';
import { readTokenizerFile } from '../train/tokenizerFile.js';
import { loadTokenizer } from '../train/tokenizerSetup.js';
import { addTrainFlags, resolveSettings, runLength, type TrainFlags, type TrainSettings } from '../train/trainFlags.js';
import { loadTrainingData, stepsPerEpoch } from '../train/trainingData.js';
import { runTrainingLoop } from '../train/trainingLoop.js';

const COMMAND = 'train';
export const PIPELINE_FILE = 'model.safetensors';
const CALIBRATION_IMAGES = 256;

/** A train run's settings: with `init`, it fine-tunes that pipeline's generator; `parts` picks NVG's networks. */
export type Settings = TrainSettings & { tokenizer: string; init?: string; parts?: NvgParts };
type Flags = TrainFlags & { tokenizer?: string; init?: string; parts?: string };

export function trainCommand(): Command {
  const command = new Command(COMMAND)
    .description('train a class-conditional generator on a trained tokenizer; writes one pipeline file for generate and the apps')
    .option('--tokenizer <file>', 'tokenizer.safetensors written by train-tokenizer')
    .option('--method <name>', `checked against the tokenizer's method (${METHODS.join(', ')})`)
    .option('--init <file>', "fine-tune: start from this pipeline file's generator (same method, tokenizer and preset)")
    .option('--parts <name>', `NVG: the networks to train (${NVG_PARTS.join(', ')}); the others keep their weights`);
  return addTrainFlags(command, 'nextdetail-model').action((flags: Flags) => runTrain(flags));
}

/** A fresh NVG generator's calibration on the first (up to) 256 training images. */
async function calibrate(tokenizer: NvgTokenizer, data: LabelledImages): Promise<NvgCalibration> {
  const { images_BHWC, labels_B } = batchTensors(data, Array.from({ length: Math.min(CALIBRATION_IMAGES, data.count) }, (_, i) => i));
  try {
    return await nvgCalibration(tokenizer, images_BHWC);
  } finally {
    tf.dispose([images_BHWC, labels_B]);
  }
}

/** The command-line flags of `train` that `train-tokenizer` has not, as they rerun a run with these settings. */
export function trainOnlyFlags(settings: Pick<Settings, 'tokenizer' | 'init' | 'parts'>): string[] {
  return ['--tokenizer', settings.tokenizer, ...(settings.init ? ['--init', settings.init] : []), ...(settings.parts ? ['--parts', settings.parts] : [])];
}

async function runTrain(flags: Flags): Promise<void> {
  const started = performance.now();
  const out = resolve(flags.out);
  const resumed = flags.resume ? await loadRunState<Settings>(out, COMMAND) : undefined;
  const tokenizerPath = resumed?.progress.settings.tokenizer ?? flags.tokenizer;
  if (tokenizerPath === undefined) throw new InvalidArgumentError('--tokenizer', 'a tokenizer file written by train-tokenizer', 'nothing');
  const tokenizerFile = await readTokenizerFile(resolve(tokenizerPath));
  const method = tokenizerFile.method;
  if (flags.method !== undefined && flags.method !== method) {
    throw new InvalidArgumentError('--method', `${method} (the --tokenizer's method) or nothing`, flags.method);
  }
  if (flags.parts !== undefined && method !== 'nvg') throw new InvalidArgumentError('--parts', 'nothing: only NVG has parts', `--parts ${flags.parts} for ${method}`);
  const given: Settings = {
    ...resolveSettings(flags, method, METHODS, true),
    tokenizer: resolve(tokenizerPath),
    ...(flags.init !== undefined ? { init: resolve(flags.init) } : {}),
    ...(flags.parts !== undefined ? { parts: checkChoice(flags.parts, NVG_PARTS, '--parts') } : {}),
  };
  const settings = resumed?.progress.settings ?? given;
  if (settings.imageSize !== tokenizerFile.info.imageSize) {
    throw new InvalidArgumentError('--image-size', `${tokenizerFile.info.imageSize} (the tokenizer's)`, String(settings.imageSize));
  }
  await mkdir(out, { recursive: true });

  const backend = await startBackend(flags.backend, (name, reason) => console.error(`note: skipped backend ${name}: ${reason}`));
  console.log(`backend         ${describeBackend(backend)}`);
  const data = await loadTrainingData(settings, settings.seed);
  const extra = trainOnlyFlags(settings);
  const length = runLength(COMMAND, settings, out, extra, data.count, flags, resumed?.progress);
  const { total } = length;
  const perEpoch = stepsPerEpoch(data.count, settings.batch);
  const preset = PRESET_SIZES[settings.preset];
  const tokenizer = await loadTokenizer(method, tokenizerFile.file, tokenizerFile.tokenizerConfig);
  const config = generatorConfig(method, preset, tokenizer, data.classNames.length);
  console.log(`data            ${settings.data ?? 'Fashion-MNIST'}: ${data.count} images, ${data.classNames.length} classes`);
  console.log(`training        ${method} generator, preset ${settings.preset}: ${total} steps of ${settings.batch}`);

  if (settings.init !== undefined && !resumed) console.log(`fine-tuning     the generator of ${settings.init}`);
  const initial = settings.init !== undefined && !resumed ? await initialGenerator(settings.init, method, config, tokenizerFile.file) : undefined;
  const calibration = method === 'nvg' && !resumed && !initial ? await calibrate(tokenizer as NvgTokenizer, data) : undefined;
  if (calibration) {
    console.log(`scale factors   ${calibration.scaleFactors.map((f) => f.toFixed(3)).join(', ')} (1/RMS of each stage's canvas)`);
    console.log(`token head      the tokenizer's nearest-code rule, temperature ${calibration.tokenTemperature.toPrecision(3)}`);
  }
  const run = await createGeneratorRun(method, tokenizer, config, {
    seed: settings.seed,
    learningRate: settings.lr,
    totalSteps: total,
    ...(resumed ? { state: resumed.state } : {}),
    ...(initial ? { initial } : {}),
    ...(settings.parts ? { parts: settings.parts } : {}),
    ...(calibration ? { scaleFactors: calibration.scaleFactors } : {}),
  });
  try {
    if (calibration) setNearestCodeTokenHead(run.generator as NvgGenerator, (tokenizer as NvgTokenizer).quantizer.embedding_VC, calibration.tokenTemperature);
    const perClass = settings.preset === 'tiny' ? 2 : 4;
    const finished = await runTrainingLoop({
      label: `${method} generator`,
      command: COMMAND,
      settings,
      out,
      ...length,
      data,
      ...(resumed ? { resumed: resumed.progress } : {}),
      ...(flags.stopAt !== undefined ? { stopAt: flags.stopAt } : {}),
      saveEvery: flags.saveEvery,
      started,
      step: (step, images_BHWC, labels) => run.step(step, images_BHWC, labels),
      trainingState: () => run.trainingState(),
      epochEnd: async (epoch) => {
        const grid = await sampleGrid(tokenizer, run.generator, data.classNames, { perClass, seed: settings.seed });
        await writeFile(join(out, `samples-epoch-${epoch}.png`), encodePng(grid));
      },
    });
    if (finished === undefined) return;
    const { seconds } = finished;
    const training = { ...finished.record, tokenizerTraining: tokenizerFile.info.training };
    const bytes = await writePipeline({
      method,
      tokenizerStateDict: tokenizerFile.bytes,
      tokenizerConfig: tokenizerFile.tokenizerConfig,
      generator: run.generator as never,
      info: { classNames: data.classNames, imageSize: settings.imageSize, training },
    });
    await writeFile(join(out, PIPELINE_FILE), bytes);
    console.log(`losses          ${Object.entries(training.finalLosses).map(([n, v]) => `${n} ${v.toPrecision(4)}`).join(', ')}`);
    console.log(`output          ${out}`);
    console.log(`  ${PIPELINE_FILE}  (${(bytes.length / 1e6).toFixed(2)} MB; nextdetail generate --model ${join(out, PIPELINE_FILE)})`);
    console.log(`  loss.png, samples-epoch-1…${Math.ceil(total / perEpoch)}.png, state.safetensors, state.json`);
    console.log(`reproduce       ${length.reproduce}`);
    console.log(`total           ${seconds.toFixed(1)} s`);
  } finally {
    run.dispose();
    tokenizer.dispose();
  }
}
