import type * as tf from '@tensorflow/tfjs-core';

// The composite's attention on the host, without the [Lq, Lk] score tensor: per query, the scores of the keys it
// sees, their max, the exp-sum and the exp-weighted sum of value rows; masked keys get weight 0 and keys past the
// largest limit of a block are never read. Queries go four at a time so that each key and value row read from memory
// serves four rows. Scores and sums are kept in float64 and rounded once to float32 on output; q·scale is rounded to
// float32 first, as the composite's tf.mul stores it.

interface HostBackendLike {
  readSync(dataId: object): unknown;
}

const BLOCK = 4;

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
  // Rows r of the block at offsets r·Lk (scores) and r·c (scaled queries, accumulators); rows past Lq stay empty.
  const scores = new Float64Array(BLOCK * Lk);
  const qBlock = new Float64Array(BLOCK * c);
  const acc = new Float64Array(BLOCK * c);
  const lim = new Int32Array(BLOCK);
  const max = new Float64Array(BLOCK);
  const sum = new Float64Array(BLOCK);
  for (let bh = 0; bh < B * H; bh++) {
    const kBase = bh * Lk * c;
    for (let i0 = 0; i0 < Lq; i0 += BLOCK) {
      let end = 0;
      qBlock.fill(0);
      for (let r = 0; r < BLOCK; r++) {
        const i = i0 + r;
        lim[r] = i < Lq ? Math.min(limits[i]!, Lk) : 0;
        end = Math.max(end, lim[r]!);
        const qOff = (bh * Lq + i) * c;
        for (let d = 0; d < c && i < Lq; d++) qBlock[r * c + d] = scale === 1 ? qs[qOff + d]! : Math.fround(qs[qOff + d]! * scale);
      }
      for (let j = 0; j < end; j++) {
        const kOff = kBase + j * c;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let d = 0; d < c; d++) {
          const kd = ks[kOff + d]!;
          s0 += qBlock[d]! * kd;
          s1 += qBlock[c + d]! * kd;
          s2 += qBlock[2 * c + d]! * kd;
          s3 += qBlock[3 * c + d]! * kd;
        }
        scores[j] = s0;
        scores[Lk + j] = s1;
        scores[2 * Lk + j] = s2;
        scores[3 * Lk + j] = s3;
      }
      for (let r = 0; r < BLOCK; r++) {
        let m = -Infinity;
        for (let j = 0; j < lim[r]!; j++) m = Math.max(m, scores[r * Lk + j]!);
        max[r] = m;
        sum[r] = 0;
      }
      acc.fill(0);
      for (let j = 0; j < end; j++) {
        const p0 = j < lim[0]! ? Math.exp(scores[j]! - max[0]!) : 0;
        const p1 = j < lim[1]! ? Math.exp(scores[Lk + j]! - max[1]!) : 0;
        const p2 = j < lim[2]! ? Math.exp(scores[2 * Lk + j]! - max[2]!) : 0;
        const p3 = j < lim[3]! ? Math.exp(scores[3 * Lk + j]! - max[3]!) : 0;
        sum[0] = sum[0]! + p0;
        sum[1] = sum[1]! + p1;
        sum[2] = sum[2]! + p2;
        sum[3] = sum[3]! + p3;
        const vOff = kBase + j * c;
        for (let d = 0; d < c; d++) {
          const vd = vs[vOff + d]!;
          acc[d] = acc[d]! + p0 * vd;
          acc[c + d] = acc[c + d]! + p1 * vd;
          acc[2 * c + d] = acc[2 * c + d]! + p2 * vd;
          acc[3 * c + d] = acc[3 * c + d]! + p3 * vd;
        }
      }
      for (let r = 0; r < BLOCK && i0 + r < Lq; r++) {
        const oOff = (bh * Lq + i0 + r) * c;
        for (let d = 0; d < c; d++) out[oOff + d] = acc[r * c + d]! / sum[r]!;
      }
    }
  }
  return out;
}
