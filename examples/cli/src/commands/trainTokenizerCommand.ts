import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError, readSafetensors } from '@nextdetail/core';
import { Command } from 'commander';
import { describeBackend, startBackend } from '../backend.js';
import { batchTensors } from '../data/labelledImages.js';
import { encodePng } from '../png.js';
import { rastersFromImages } from '../render/imageRasters.js';
import { labelledGrid, tileScale } from '../render/labelledGrid.js';
import { METHODS, PRESET_SIZES } from '../train/presets.js';
import { loadRunState } from '../train/runState.js';
import { createTokenizerTrainer, loadTokenizer, tokenizerSetup } from '../train/tokenizerSetup.js';
import { writeTokenizerFile } from '../train/tokenizerFile.js';
import { addTrainFlags, resolveSettings, runLength, type TrainFlags, type TrainSettings } from '../train/trainFlags.js';
import { loadTrainingData } from '../train/trainingData.js';
import { runTrainingLoop } from '../train/trainingLoop.js';

const COMMAND = 'train-tokenizer';
export const TOKENIZER_FILE = 'tokenizer.safetensors';

export function trainTokenizerCommand(): Command {
  const command = new Command(COMMAND)
    .description('train a method\'s image tokenizer (VQ autoencoder + its quantizer) on Fashion-MNIST or an image folder')
    .option('--method <name>', `tokenizer family: ${METHODS.join(', ')}`);
  return addTrainFlags(command, 'nextdetail-tokenizer').action((flags: TrainFlags) => runTrainTokenizer(flags));
}

async function runTrainTokenizer(flags: TrainFlags): Promise<void> {
  const started = performance.now();
  const out = resolve(flags.out);
  const resumed = flags.resume ? await loadRunState<TrainSettings>(out, COMMAND) : undefined;
  if (resumed && flags.method !== undefined && flags.method !== resumed.progress.settings.method) {
    throw new InvalidArgumentError('--method', `${resumed.progress.settings.method} (the resumed run's) or nothing`, flags.method);
  }
  if (!resumed && flags.method === undefined) throw new InvalidArgumentError('--method', `one of ${METHODS.join(', ')}`, 'nothing');
  // Every flag is checked; a resumed run then keeps the settings it started with.
  const given = resolveSettings(flags, flags.method ?? resumed!.progress.settings.method, METHODS, false);
  const settings = resumed?.progress.settings ?? given;
  const method = settings.method as (typeof METHODS)[number];
  const setup = tokenizerSetup(method, PRESET_SIZES[settings.preset], settings.imageSize);
  await mkdir(out, { recursive: true });

  const backend = await startBackend(flags.backend, (name, reason) => console.error(`note: skipped backend ${name}: ${reason}`));
  console.log(`backend         ${describeBackend(backend)}`);
  const data = await loadTrainingData(settings, settings.seed);
  const length = runLength(COMMAND, settings, out, [], data.count, flags, resumed?.progress);
  console.log(`data            ${settings.data ?? 'Fashion-MNIST'}: ${data.count} images, ${data.classNames.length} classes`);
  console.log(`training        ${method} tokenizer, preset ${settings.preset}: ${length.total} steps of ${settings.batch}`);

  const trainer = createTokenizerTrainer(setup, { seed: settings.seed, codebookInit: 'latents', optimizer: { learningRate: settings.lr } });
  try {
    if (resumed) await trainer.resume(resumed.state);
    const finished = await runTrainingLoop({
      label: `${method} tokenizer`,
      command: COMMAND,
      settings,
      out,
      ...length,
      data,
      ...(resumed ? { resumed: resumed.progress } : {}),
      ...(flags.stopAt !== undefined ? { stopAt: flags.stopAt } : {}),
      saveEvery: flags.saveEvery,
      started,
      step: async (_, images_BHWC) => {
        const report = await trainer.step(images_BHWC);
        return { total: report.loss.total, reconstruction: report.loss.reconstruction, vq: report.loss.vq };
      },
      trainingState: () => trainer.trainingState(),
    });
    if (finished === undefined) return;
    const { seconds } = finished;
    const info = { classNames: data.classNames, imageSize: settings.imageSize, training: finished.record };
    const bytes = await writeTokenizerFile(await trainer.checkpoint(), { method, tokenizerConfig: setup.tokenizerConfig, info });
    await writeFile(join(out, TOKENIZER_FILE), bytes);
    await writeFile(join(out, 'reconstructions.png'), encodePng(await reconstructionGrid(method, bytes, setup.tokenizerConfig, data)));
    console.log(`losses          ${Object.entries(info.training.finalLosses).map(([n, v]) => `${n} ${v.toPrecision(4)}`).join(', ')}`);
    console.log(`output          ${out}`);
    console.log(`  ${TOKENIZER_FILE}  (${(bytes.length / 1e6).toFixed(2)} MB)`);
    console.log('  loss.png, reconstructions.png, state.safetensors, state.json');
    console.log(`reproduce       ${length.reproduce}`);
    console.log(`total           ${seconds.toFixed(1)} s`);
  } finally {
    trainer.dispose();
  }
}

/** One image per class (up to 10) and its reconstruction through the saved tokenizer file, as two labelled rows. */
async function reconstructionGrid(
  method: (typeof METHODS)[number],
  bytes: Uint8Array,
  config: Parameters<typeof loadTokenizer>[2],
  data: Awaited<ReturnType<typeof loadTrainingData>>,
) {
  const picks: number[] = [];
  for (let c = 0; c < data.classNames.length && picks.length < 10; c++) {
    const n = data.labels.indexOf(c);
    if (n >= 0) picks.push(n);
  }
  const tokenizer = await loadTokenizer(method, await readSafetensors(bytes), config);
  const { images_BHWC, labels_B } = batchTensors(data, picks);
  try {
    const plan = await tokenizer.encode(images_BHWC);
    const recon = tokenizer.decode(plan);
    const rows = [
      { label: 'input', tiles: await rastersFromImages(images_BHWC) },
      { label: 'recon', tiles: await rastersFromImages(recon) },
    ];
    tf.dispose([plan, recon]);
    return labelledGrid(rows, tileScale(Math.max(images_BHWC.shape[1], images_BHWC.shape[2])));
  } finally {
    tf.dispose([images_BHWC, labels_B]);
    tokenizer.dispose();
  }
}
