import cliProgress from 'cli-progress';

/**
 * A bar on stderr over all optimisation steps of a run (epochs × steps per epoch), showing the epoch and the running
 * loss. cli-progress draws nothing when stderr is not a terminal, so `onEpoch` lines are the log there.
 */
export function trainingProgressBar(label: string): {
  update(event: { epoch: number; epochs: number; step: number; steps: number; loss: number }): void;
  stop(): void;
} {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] epoch {epoch}/{epochs} step {step}/{steps} | loss {loss} | {eta_formatted} left`,
      clearOnComplete: true,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update({ epoch, epochs, step, steps, loss }) {
      const payload = { epoch: epoch + 1, epochs, step, steps, loss: loss.toFixed(4) };
      if (!started) {
        bar.start(epochs * steps, 0, payload);
        started = true;
      }
      bar.update(epoch * steps + step, payload);
    },
    stop: () => bar.stop(),
  };
}
