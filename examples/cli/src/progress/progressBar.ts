import cliProgress from 'cli-progress';

/** A bar that moves to a position, with the named values its format shows. */
export interface ProgressBar<Payload extends object> {
  /** `total` changes the end, for runs whose length is known only once they report. */
  update(value: number, payload: Payload, total?: number): void;
  stop(): void;
}

/**
 * A cli-progress bar on stderr with `format` (its `{name}` fields come from the payload). cli-progress draws nothing
 * when stderr is not a terminal, so piped output, logs and tests stay clean. `keep` leaves the finished bar on screen
 * (training runs, whose last line of losses is worth reading); the others clear it.
 */
export function progressBar<Payload extends object>(
  format: string,
  total: number,
  start: number,
  payload: Payload,
  { keep = false }: { keep?: boolean } = {},
): ProgressBar<Payload> {
  const bar = new cliProgress.SingleBar(
    { format, clearOnComplete: !keep, hideCursor: true, ...(keep ? { etaBuffer: 50 } : {}) },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, start, payload);
  return {
    update(value, payload, total) {
      if (total !== undefined && total !== bar.getTotal()) bar.setTotal(total);
      bar.update(value, payload);
    },
    stop: () => bar.stop(),
  };
}
