import * as tf from '@tensorflow/tfjs';
import { batchTensors, type LabelledImages } from '../data/labelledImages.js';
import { progressBar } from '../progress/progressBar.js';
import { formatValue } from '../render/lossPlot.js';
import { type RunProgress, saveRunState } from './runState.js';
import type { TrainSettings } from './trainFlags.js';
import { batchIndices, stepsPerEpoch } from './trainingData.js';

export interface TrainingLoop<Settings extends TrainSettings> {
  label: string;
  /** The command and settings recorded in the saved state, and the directory it goes to. */
  command: string;
  settings: Settings;
  out: string;
  data: LabelledImages;
  /** Steps already done (a resumed run's), the total, and an optional earlier stop. */
  start: number;
  total: number;
  stopAt?: number;
  saveEvery: number;
  /** Loss history by term, one value per step done; appended to. */
  losses: Record<string, number[]>;
  /** Training time of earlier sessions, and when this one started (`performance.now()`). */
  previousSeconds: number;
  started: number;
  /** One optimisation step on a batch (disposed by the loop) and its labels; returns the loss terms. */
  step(step: number, images_BHWC: tf.Tensor4D, labels: number[]): Promise<Record<string, number>>;
  /** The library's training state, as `saveRunState` stores it. */
  trainingState(): Promise<Uint8Array>;
  /** After the last step of epoch `epoch` (1-based). */
  epochEnd?(epoch: number): Promise<void>;
}

/**
 * Runs steps start … end − 1 on the seeded batches of `batchIndices` with a progress bar, saving the run state every
 * `saveEvery` steps and at the end; returns the end.
 */
export async function runTrainingLoop<Settings extends TrainSettings>(loop: TrainingLoop<Settings>): Promise<number> {
  const end = Math.min(loop.total, loop.stopAt ?? loop.total);
  const { data, settings } = loop;
  const perEpoch = stepsPerEpoch(data.count, settings.batch);
  const save = async (stepsDone: number) => {
    const progress: RunProgress<Settings> = {
      command: loop.command,
      settings,
      step: stepsDone,
      totalSteps: loop.total,
      losses: loop.losses,
      seconds: trainingSeconds(loop.previousSeconds, loop.started),
    };
    await saveRunState(loop.out, await loop.trainingState(), progress);
  };
  const bar = progressBar(`${loop.label} [{bar}] {value}/{total} | ETA {eta_formatted} | {losses}`, loop.total, loop.start, { losses: '' }, { keep: true });
  try {
    for (let step = loop.start; step < end; step++) {
      const indices = batchIndices(data.count, settings.batch, settings.seed, step);
      const { images_BHWC, labels_B } = batchTensors(data, indices);
      const terms = await loop
        .step(step, images_BHWC, indices.map((n) => data.labels[n]!))
        .finally(() => tf.dispose([images_BHWC, labels_B]));
      for (const [name, value] of Object.entries(terms)) (loop.losses[name] ??= []).push(value);
      bar.update(step + 1, { losses: Object.entries(terms).map(([n, v]) => `${n} ${formatValue(v)}`).join(' ') });
      const done = step + 1;
      if (done % perEpoch === 0 || done === loop.total) await loop.epochEnd?.(Math.ceil(done / perEpoch));
      if (done % loop.saveEvery === 0 && done !== end) await save(done);
    }
  } finally {
    bar.stop();
  }
  await save(end);
  return end;
}

/** Training time over every session of the run so far. */
export function trainingSeconds(previousSeconds: number, started: number): number {
  return previousSeconds + (performance.now() - started) / 1000;
}

/** What a finished run records in the file it writes (the tokenizer or pipeline file's `training` info). */
export function trainingRecord(command: string, settings: TrainSettings, images: number, steps: number, seconds: number, losses: Readonly<Record<string, readonly number[]>>) {
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
