import cliProgress from 'cli-progress';

/**
 * A bar on stderr over the training steps with the ETA and the latest losses. cli-progress draws nothing when stderr
 * is not a terminal, so logs and tests stay clean.
 */
export function trainingProgressBar(label: string, total: number, start: number): { update(step: number, losses: string): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | ETA {eta_formatted} | {losses}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, start, { losses: '' });
  return { update: (step, losses) => bar.update(step, { losses }), stop: () => bar.stop() };
}
