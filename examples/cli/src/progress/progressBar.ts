import cliProgress from 'cli-progress';

/**
 * A bar on stderr that advances once per decomposition level. cli-progress draws nothing when stderr is not a
 * terminal, so piped output and tests stay clean.
 */
export function levelProgressBar(order: number): { update(level: number): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    {
      format: 'decomposing [{bar}] level {value}/{total} | {duration}s',
      clearOnComplete: true,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(order, 0);
  return { update: (level) => bar.update(level), stop: () => bar.stop() };
}
