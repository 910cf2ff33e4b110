import { progressBar } from './progressBar.js';

/** A bar over the coarse-to-fine steps of a generation, naming the grid of the step just done. */
export function stepProgressBar(label: string, steps: number): { update(step: number, grid: string): void; stop(): void } {
  const bar = progressBar(`${label} [{bar}] step {value}/{total} {grid} | {duration}s`, steps, 0, { grid: '' });
  return { update: (step, grid) => bar.update(step, { grid }), stop: () => bar.stop() };
}
