import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { batchTensors, type LabelledImages } from '../data/labelledImages.js';
import { encodePng } from '../png.js';
import { progressBar } from '../progress/progressBar.js';
import { formatValue, lossPlot } from '../render/lossPlot.js';
import { type RunExtension, type RunProgress, saveRunState } from './runState.js';
import type { TrainSettings } from './trainFlags.js';
import { batchIndices, stepsPerEpoch } from './trainingData.js';

export interface TrainingLoop<Settings extends TrainSettings> {
  label: string;
  /** The command and settings recorded in the saved state, and the directory it goes to. */
  command: string;
  settings: Settings;
  out: string;
  /** The command lines that reproduce the run, as its output file records them. */
  reproduce: string;
  /** The command line that, with `--resume` appended, continues the run where it stops. */
  continueWith: string;
  /** Where `--resume` changed the run's length (saved with the state). */
  extensions?: RunExtension[];
  data: LabelledImages;
  /** The progress of the run this one continues: its steps, loss history and training time. */
  resumed?: RunProgress<Settings>;
  /** The total steps, and an optional earlier stop. */
  total: number;
  stopAt?: number;
  saveEvery: number;
  /** When this session started (`performance.now()`). */
  started: number;
  /** One optimisation step on a batch (disposed by the loop) and its labels; returns the loss terms. */
  step(step: number, images_BHWC: tf.Tensor4D, labels: number[]): Promise<Record<string, number>>;
  /** The library's training state, as `saveRunState` stores it. */
  trainingState(): Promise<Uint8Array>;
  /** After the last step of epoch `epoch` (1-based). */
  epochEnd?(epoch: number): Promise<void>;
}

/**
 * Runs the steps from the resumed run's (or 0) up to the total or `stopAt` on the seeded batches of `batchIndices`
 * with a progress bar, saving the run state every `saveEvery` steps and at the end, and draws `loss.png`. Returns the
 * training record of a finished run with its seconds, or undefined when it stopped early (after saying how to go on).
 */
export async function runTrainingLoop<Settings extends TrainSettings>(
  loop: TrainingLoop<Settings>,
): Promise<{ record: ReturnType<typeof trainingRecord>; seconds: number } | undefined> {
  const start = loop.resumed?.step ?? 0;
  if (start > 0) console.log(`resumed         at step ${start}`);
  const losses = loop.resumed?.losses ?? {};
  const seconds = () => (loop.resumed?.seconds ?? 0) + (performance.now() - loop.started) / 1000;
  const end = Math.min(loop.total, loop.stopAt ?? loop.total);
  const { data, settings } = loop;
  const perEpoch = stepsPerEpoch(data.count, settings.batch);
  const save = async (stepsDone: number) => {
    const progress: RunProgress<Settings> = {
      command: loop.command,
      settings,
      step: stepsDone,
      totalSteps: loop.total,
      losses,
      seconds: seconds(),
      ...(loop.extensions?.length ? { extensions: loop.extensions } : {}),
    };
    await saveRunState(loop.out, await loop.trainingState(), progress);
  };
  const bar = progressBar(`${loop.label} [{bar}] {value}/{total} | ETA {eta_formatted} | {losses}`, loop.total, start, { losses: '' }, { keep: true });
  try {
    for (let step = start; step < end; step++) {
      const indices = batchIndices(data.count, settings.batch, settings.seed, step);
      const { images_BHWC, labels_B } = batchTensors(data, indices);
      const terms = await loop
        .step(step, images_BHWC, indices.map((n) => data.labels[n]!))
        .finally(() => tf.dispose([images_BHWC, labels_B]));
      for (const [name, value] of Object.entries(terms)) (losses[name] ??= []).push(value);
      bar.update(step + 1, { losses: Object.entries(terms).map(([n, v]) => `${n} ${formatValue(v)}`).join(' ') });
      const done = step + 1;
      if (done % perEpoch === 0 || done === loop.total) await loop.epochEnd?.(Math.ceil(done / perEpoch));
      if (done % loop.saveEvery === 0 && done !== end) await save(done);
    }
  } finally {
    bar.stop();
  }
  await save(end);
  await writeFile(join(loop.out, 'loss.png'), encodePng(lossPlot(losses)));
  if (end < loop.total) {
    console.log(`stopped         at step ${end} of ${loop.total}; continue with: ${loop.continueWith} --resume`);
    return undefined;
  }
  const total = seconds();
  return { record: trainingRecord(loop.reproduce, settings, data.count, loop.total, total, losses), seconds: total };
}

/** What a finished run records in the file it writes (the tokenizer or pipeline file's `training` info). */
function trainingRecord(command: string, settings: TrainSettings, images: number, steps: number, seconds: number, losses: Readonly<Record<string, readonly number[]>>) {
  return {
    command,
    dataset: settings.data ?? 'Fashion-MNIST',
    images,
    steps,
    wallSeconds: Math.round(seconds),
    finalLosses: finalLosses(losses),
    date: new Date().toISOString(),
    backend: tf.getBackend(),
  };
}

/** Mean of each term over its last `n` values. */
export function finalLosses(losses: Readonly<Record<string, readonly number[]>>, n = 20): Record<string, number> {
  return Object.fromEntries(
    Object.entries(losses).map(([name, values]) => {
      const tail = values.slice(-n);
      return [name, tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length)];
    }),
  );
}
