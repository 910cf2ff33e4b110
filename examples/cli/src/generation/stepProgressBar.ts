import cliProgress from 'cli-progress';

/**
 * A bar on stderr over the coarse-to-fine steps of a generation, naming the grid of the step just done. cli-progress
 * draws nothing when stderr is not a terminal, so piped output and tests stay clean.
 */
export function stepProgressBar(label: string, steps: number): { update(step: number, grid: string): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] step {value}/{total} {grid} | {duration}s`, clearOnComplete: true, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(steps, 0, { grid: '' });
  return { update: (step, grid) => bar.update(step, { grid }), stop: () => bar.stop() };
}
