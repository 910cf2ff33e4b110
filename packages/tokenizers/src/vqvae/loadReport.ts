import type { StateDictReport } from '@nextdetail/core';

/**
 * core's load report, with the quantizer's tensors moved from `unused` to `expectedUnused`: they share the checkpoint
 * but the quantizer's own loader reads them, so `unused` is then only what nobody reads. (Training buffers such as
 * `ema_vocab_hit_SV` and `codebook_used` stay in `ignored`.)
 */
export interface AutoencoderLoadReport extends StateDictReport {
  expectedUnused: string[];
}

/** Splits `report.unused` into what starts with `quantizerPrefix` (expected) and the rest. */
export function autoencoderLoadReport(report: StateDictReport, quantizerPrefix: string): AutoencoderLoadReport {
  return {
    ...report,
    unused: report.unused.filter((k) => !k.startsWith(quantizerPrefix)),
    expectedUnused: report.unused.filter((k) => k.startsWith(quantizerPrefix)),
  };
}

/** The report of a model built from a config rather than read from a checkpoint: nothing missing, unused or ignored. */
export function emptyLoadReport(): AutoencoderLoadReport {
  return { missing: [], unused: [], ignored: [], expectedUnused: [] };
}
