import type * as tf from '@tensorflow/tfjs-core';

// Flash-attention-style online softmax (Dao et al. 2022, "FlashAttention", Alg. 1) in one WebGPU dispatch, without
// the [Lq, Lk] score matrix: a workgroup owns ROWS consecutive queries of one batch row and head, one invocation per
// query; key/value tiles are staged in workgroup memory and each invocation keeps its running max, exp-sum and
// weighted value sum, rescaled when a tile raises the max. Tiles past the largest key limit of the workgroup's
// queries are never loaded, so a block-causal mask skips whole blocks. Written against tfjs-backend-webgpu's program
// interface (WebGPUProgram, runWebGPUProgram), which the backend hands to every kernel, so this file needs no import.

const ROWS = 64;
/** Floats of K and V staged per tile: 16 KiB of workgroup memory, WebGPU's guaranteed minimum. */
const TILE_FLOATS = 2048;
const MAX_WORKGROUPS = 65535;

interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms: Array<{ type: string; data: number[] }>): tf.TensorInfo;
}

/** Whether the kernel takes head dimension `c` and the dispatch of B·H batch-heads and Lq queries. */
export function fitsAttentionWebGPU(batchHeads: number, Lq: number, c: number): boolean {
  return c <= TILE_FLOATS / 2 && batchHeads <= MAX_WORKGROUPS && Math.ceil(Lq / ROWS) <= MAX_WORKGROUPS;
}

export function attentionWebGPU(
  backend: WebGPUBackendLike,
  q: tf.TensorInfo,
  k: tf.TensorInfo,
  v: tf.TensorInfo,
  keyLimit: tf.TensorInfo,
  scale: number,
): tf.TensorInfo {
  const [B, H, Lq, c] = q.shape as [number, number, number, number];
  const Lk = k.shape[2]!;
  const tileKeys = Math.min(ROWS, Math.floor(TILE_FLOATS / 2 / c));
  const program = {
    variableNames: ['Q', 'K', 'V', 'LIMIT'],
    outputShape: [B * H * Lq * c],
    shaderKey: `nextdetail_attention_${c}_${tileKeys}`,
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(Lq / ROWS), B * H, 1] as [number, number, number],
    workgroupSize: [ROWS, 1, 1] as [number, number, number],
    size: true,
    uniforms: 'queries : i32, keys : i32, scale : f32, lowest : f32,',
    getUserCode: () => `
      const C = ${c};
      const TK = ${tileKeys};
      var<workgroup> kTile : array<f32, ${tileKeys * c}>;
      var<workgroup> vTile : array<f32, ${tileKeys * c}>;
      var<workgroup> rowLimits : array<i32, ${ROWS}>;
      var<workgroup> blockEnd : i32;

      fn main(index : i32) {
        let lane = i32(localId.x);
        let bh = i32(workgroupId.y);
        let row = i32(workgroupId.x) * ${ROWS} + lane;
        var limit = 0;
        if (row < uniforms.queries) { limit = min(LIMIT[row], uniforms.keys); }
        rowLimits[lane] = limit;
        workgroupBarrier();
        if (lane == 0) {
          var end = 0;
          for (var r = 0; r < ${ROWS}; r++) { end = max(end, rowLimits[r]); }
          blockEnd = end;
        }
        let end = workgroupUniformLoad(&blockEnd);

        var qRow : array<f32, C>;
        var acc : array<f32, C>;
        let qOff = (bh * uniforms.queries + row) * C;
        for (var d = 0; d < C; d++) {
          // q·scale rounded to float32 before the dot products, as the composite's tf.mul stores it.
          if (row < uniforms.queries) { qRow[d] = Q[qOff + d] * uniforms.scale; }
          acc[d] = 0.0;
        }
        var runMax = uniforms.lowest;
        var runSum = 0.0;
        var scores : array<f32, TK>;
        let kBase = bh * uniforms.keys * C;
        for (var t0 = 0; t0 < end; t0 = t0 + TK) {
          let tileLen = min(TK, uniforms.keys - t0);
          for (var e = lane; e < tileLen * C; e = e + ${ROWS}) {
            kTile[e] = K[kBase + t0 * C + e];
            vTile[e] = V[kBase + t0 * C + e];
          }
          workgroupBarrier();
          let seen = clamp(limit - t0, 0, tileLen);
          if (seen > 0) {
            var tileMax = runMax;
            for (var j = 0; j < seen; j++) {
              var s = 0.0;
              for (var d = 0; d < C; d++) { s = s + qRow[d] * kTile[j * C + d]; }
              scores[j] = s;
              tileMax = max(tileMax, s);
            }
            let rescale = exp(runMax - tileMax);
            runSum = runSum * rescale;
            for (var d = 0; d < C; d++) { acc[d] = acc[d] * rescale; }
            for (var j = 0; j < seen; j++) {
              let p = exp(scores[j] - tileMax);
              runSum = runSum + p;
              for (var d = 0; d < C; d++) { acc[d] = acc[d] + p * vTile[j * C + d]; }
            }
            runMax = tileMax;
          }
          workgroupBarrier();
        }
        if (row < uniforms.queries) {
          for (var d = 0; d < C; d++) { result[qOff + d] = acc[d] / runSum; }
        }
      }
    `,
  };
  const flat = (t: tf.TensorInfo): tf.TensorInfo => ({ dataId: t.dataId, shape: [t.shape.reduce((a, b) => a * b, 1)], dtype: t.dtype });
  const out = backend.runWebGPUProgram(program, [flat(q), flat(k), flat(v), keyLimit], 'float32', [
    { type: 'int32', data: [Lq] },
    { type: 'int32', data: [Lk] },
    { type: 'float32', data: [scale] },
    { type: 'float32', data: [-3.4028234663852886e38] },
  ]);
  return { dataId: out.dataId, shape: [B, H, Lq, c], dtype: 'float32' };
}
