import type * as tf from '@tensorflow/tfjs-core';

// The composite's attention row by row on the host, without the [Lq, Lk] score tensor: per query, the scores of the
// keys it sees, their max, the exp-sum and the exp-weighted sum of value rows, masked keys never touched. Scores and
// sums are kept in float64 and rounded once to float32 on output; q·scale is rounded to float32 first, as the
// composite's tf.mul stores it.

interface HostBackendLike {
  readSync(dataId: object): unknown;
}

/** The output [B, H, Lq, c] of the attention of `q` [B, H, Lq, c] on `k`, `v` [B, H, Lk, c] as float32 host data. */
export function attentionHost(
  backend: HostBackendLike,
  q: tf.TensorInfo,
  k: tf.TensorInfo,
  v: tf.TensorInfo,
  keyLimit: tf.TensorInfo,
  scale: number,
): Float32Array {
  const [B, H, Lq, c] = q.shape as [number, number, number, number];
  const Lk = k.shape[2]!;
  const qs = backend.readSync(q.dataId) as Float32Array;
  const ks = backend.readSync(k.dataId) as Float32Array;
  const vs = backend.readSync(v.dataId) as Float32Array;
  const limits = backend.readSync(keyLimit.dataId) as Int32Array;
  const out = new Float32Array(B * H * Lq * c);
  const scores = new Float64Array(Lk);
  const qRow = new Float32Array(c);
  const acc = new Float64Array(c);
  for (let bh = 0; bh < B * H; bh++) {
    const kBase = bh * Lk * c;
    for (let i = 0; i < Lq; i++) {
      const qOff = (bh * Lq + i) * c;
      for (let d = 0; d < c; d++) qRow[d] = scale === 1 ? qs[qOff + d]! : qs[qOff + d]! * scale;
      const limit = Math.min(limits[i]!, Lk);
      let max = -Infinity;
      for (let j = 0; j < limit; j++) {
        const kOff = kBase + j * c;
        let s = 0;
        for (let d = 0; d < c; d++) s += qRow[d]! * ks[kOff + d]!;
        scores[j] = s;
        if (s > max) max = s;
      }
      acc.fill(0);
      let sum = 0;
      for (let j = 0; j < limit; j++) {
        const p = Math.exp(scores[j]! - max);
        sum += p;
        const vOff = kBase + j * c;
        for (let d = 0; d < c; d++) acc[d] = acc[d]! + p * vs[vOff + d]!;
      }
      for (let d = 0; d < c; d++) out[qOff + d] = acc[d]! / sum;
    }
  }
  return out;
}
