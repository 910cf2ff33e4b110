import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '@nextdetail/core';

/**
 * Phi(h) = a·h + r·conv3×3(h): the refinement every scale's (up-sampled) embedding goes through before it joins f̂.
 * VAR uses r = |quant_resi| and a = 1 − r; NVG uses r = 0.5 and a = 1 (h + 0.5·conv(h)). `conv` is null where the
 * reference builds nn.Identity instead (|quant_resi| ≤ 1e-6).
 */
// FoundationVision/VAR@78b9539:models/quant.py Phi
export class Phi {
  constructor(
    private readonly conv: { weight_33CC: tf.Tensor4D; bias_C: tf.Tensor1D } | null,
    readonly ratio: number,
    readonly identityWeight: number = 1 - ratio,
  ) {}

  apply(h_BHWC: tf.Tensor4D): tf.Tensor4D {
    const conv = this.conv;
    if (conv === null) return tf.clone(h_BHWC);
    return tf.tidy(() => {
      const conv_BHWC = tf.add(tf.conv2d(h_BHWC, conv.weight_33CC, 1, 'same'), conv.bias_C);
      return tf.add(tf.mul(h_BHWC, this.identityWeight), tf.mul(conv_BHWC, this.ratio));
    });
  }

  dispose(): void {
    if (this.conv) tf.dispose([this.conv.weight_33CC, this.conv.bias_C]);
  }
}

/** Whether the reference builds Phi as a convolution (it uses nn.Identity, with no parameters, otherwise). */
export function phiHasConv(quantResi: number): boolean {
  return Math.abs(quantResi) > 1e-6;
}

/**
 * How many Phi modules VectorQuantizer2 builds: share_quant_resi = 0 gives one per scale (PhiNonShared with
 * default_qresi_counts = 0), 1 a single one (PhiShared), K ≥ 2 gives K (PhiPartiallyShared).
 */
// FoundationVision/VAR@78b9539:models/quant.py VectorQuantizer2.__init__
export function phiCount(shareQuantResi: number, scaleCount: number): number {
  return shareQuantResi === 0 ? scaleCount : shareQuantResi;
}

/** The state-dict module name of Phi k under `quantize.`; the three sharing modes nest their modules differently. */
export function phiModuleName(shareQuantResi: number, k: number): string {
  if (shareQuantResi === 0) return `quant_resi.${k}`;
  if (shareQuantResi === 1) return 'quant_resi.qresi';
  return `quant_resi.qresi_ls.${k}`;
}

/**
 * The Phi module each scale si uses: argmin_k |tick_k − si/(SN − 1)|, first index on ties. Several scales sit exactly
 * halfway between two ticks (the middle scale of every odd SN; si = 2 and 7 for SN = 10), so the float64 rounding of
 * numpy's linspace decides them and is reproduced step by step. PhiShared ignores the position: with one Phi every
 * scale maps to 0, which the formula gives too.
 */
// FoundationVision/VAR@78b9539:models/quant.py PhiPartiallyShared, PhiNonShared (ticks, __getitem__)
export function phiIndexMap(phiCount: number, scaleCount: number): number[] {
  checkNumber(phiCount, 'phiCount', { integer: true, min: 1 });
  checkNumber(scaleCount, 'scaleCount', { integer: true, min: 2 });
  const K = phiCount;
  const ticks = K === 4 ? numpyLinspace(1 / 3 / K, 1 - 1 / 3 / K, K) : numpyLinspace(1 / 2 / K, 1 - 1 / 2 / K, K);
  return Array.from({ length: scaleCount }, (_, si) => {
    const at = si / (scaleCount - 1);
    let best = 0;
    let bestDistance = Math.abs(ticks[0]! - at);
    for (let k = 1; k < K; k++) {
      const distance = Math.abs(ticks[k]! - at);
      if (distance < bestDistance) {
        best = k;
        bestDistance = distance;
      }
    }
    return best;
  });
}

/** np.linspace(start, stop, num) in float64: k·step + start with step = (stop − start)/(num − 1), the last = stop. */
function numpyLinspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, k) => (k === num - 1 ? stop : k * step + start));
}
