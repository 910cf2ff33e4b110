import { progressBar } from '../progress/progressBar.js';
import { formatValue } from '../render/lossPlot.js';

export interface TrainingLoop {
  label: string;
  /** Steps already done (a resumed run's), the total, and an optional earlier stop. */
  start: number;
  total: number;
  stopAt?: number;
  saveEvery: number;
  perEpoch: number;
  /** Loss history by term, one value per step done; appended to. */
  losses: Record<string, number[]>;
  step(step: number): Promise<Record<string, number>>;
  save(stepsDone: number): Promise<void>;
  /** After the last step of epoch `epoch` (1-based). */
  epochEnd?(epoch: number): Promise<void>;
}

/** Runs steps start … end − 1 with a progress bar, saving every `saveEvery` steps and at the end; returns the end. */
export async function runTrainingLoop(loop: TrainingLoop): Promise<number> {
  const end = Math.min(loop.total, loop.stopAt ?? loop.total);
  const bar = progressBar(`${loop.label} [{bar}] {value}/{total} | ETA {eta_formatted} | {losses}`, loop.total, loop.start, { losses: '' }, { keep: true });
  try {
    for (let step = loop.start; step < end; step++) {
      const terms = await loop.step(step);
      for (const [name, value] of Object.entries(terms)) (loop.losses[name] ??= []).push(value);
      bar.update(step + 1, { losses: Object.entries(terms).map(([n, v]) => `${n} ${formatValue(v)}`).join(' ') });
      const done = step + 1;
      if (done % loop.perEpoch === 0 || done === loop.total) await loop.epochEnd?.(Math.ceil(done / loop.perEpoch));
      if (done % loop.saveEvery === 0 && done !== end) await loop.save(done);
    }
  } finally {
    bar.stop();
  }
  await loop.save(end);
  return end;
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
