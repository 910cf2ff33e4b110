import type * as tf from '@tensorflow/tfjs-core';

// The composite's distances and first-index argmin in one WebGPU dispatch, without the [N, V] distance matrix: one
// workgroup per row, each invocation scanning codes v ≡ localId (mod WORKGROUP) in increasing order, then a tree
// reduction in workgroup memory. Written against tfjs-backend-webgpu's program interface (WebGPUProgram,
// runWebGPUProgram), which the backend hands to every kernel, so this file needs no import of it.

const WORKGROUP = 64;
/** WebGPU's per-dimension dispatch limit: rows past it go to a second dispatch dimension. */
const MAX_WORKGROUPS = 65535;

interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms: Array<{ type: string; data: number[] }>): tf.TensorInfo;
}

/** Rows up to MAX_WORKGROUPS² fit the two dispatch dimensions. */
export function fitsDispatch(rows: number): boolean {
  return rows <= MAX_WORKGROUPS * MAX_WORKGROUPS;
}

/**
 * Ids int32 [N] of the nearest rows of `embedding` [V, C] to the rows of `z` [N, C], given the squared norms
 * `zSquares` [N] and `eSquares` [V] computed by the same core ops as the composite's.
 */
export function nearestCodeWebGPU(
  backend: WebGPUBackendLike,
  z: tf.TensorInfo,
  embedding: tf.TensorInfo,
  zSquares: tf.TensorInfo,
  eSquares: tf.TensorInfo,
): tf.TensorInfo {
  const [rows, channels] = z.shape as [number, number];
  const vocabSize = embedding.shape[0]!;
  const dispatchX = Math.min(rows, MAX_WORKGROUPS);
  const program = {
    variableNames: ['Z', 'E', 'ZZ', 'EE'],
    outputShape: [rows],
    shaderKey: 'nextdetail_nearest_code',
    dispatchLayout: { x: [0] },
    dispatch: [dispatchX, Math.ceil(rows / dispatchX), 1] as [number, number, number],
    workgroupSize: [WORKGROUP, 1, 1] as [number, number, number],
    size: true,
    uniforms: 'channels : i32, vocabSize : i32, infinity : f32,',
    getUserCode: () => `
      var<workgroup> bestValues : array<f32, ${WORKGROUP}>;
      var<workgroup> bestIds : array<i32, ${WORKGROUP}>;

      // (|z|² + |E_v|²) − 2·(z·E_v), the dot product summed in channel order as the composite's matMul does.
      fn distance(row : i32, v : i32) -> f32 {
        var dot = 0.0;
        for (var c = 0; c < uniforms.channels; c++) {
          dot = dot + Z[row * uniforms.channels + c] * E[v * uniforms.channels + c];
        }
        return (ZZ[row] + EE[v]) - 2.0 * dot;
      }

      // The first index among equal distances: the lower id wins a tie, as in the composite.
      fn better(value : f32, id : i32, bestValue : f32, bestId : i32) -> bool {
        return value < bestValue || (value == bestValue && id < bestId);
      }

      fn main(index : i32) {
        let row = i32(workgroupId.y * numWorkgroups.x + workgroupId.x);
        let lane = i32(localId.x);
        // Lanes without a code start from +inf with id V, which loses every tie against a real code.
        var bestValue = uniforms.infinity;
        var bestId = uniforms.vocabSize;
        if (row < uniforms.size) {
          for (var v = lane; v < uniforms.vocabSize; v = v + ${WORKGROUP}) {
            let d = distance(row, v);
            if (better(d, v, bestValue, bestId)) {
              bestValue = d;
              bestId = v;
            }
          }
        }
        bestValues[lane] = bestValue;
        bestIds[lane] = bestId;
        workgroupBarrier();
        for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
          if (lane < stride && better(bestValues[lane + stride], bestIds[lane + stride], bestValues[lane], bestIds[lane])) {
            bestValues[lane] = bestValues[lane + stride];
            bestIds[lane] = bestIds[lane + stride];
          }
          workgroupBarrier();
        }
        if (lane == 0 && row < uniforms.size) {
          // A row whose every distance is NaN keeps id V; clamping keeps the id a valid row of the codebook.
          result[row] = min(bestIds[0], uniforms.vocabSize - 1);
        }
      }
    `,
  };
  return backend.runWebGPUProgram(program, [z, embedding, zSquares, eSquares], 'int32', [
    { type: 'int32', data: [channels] },
    { type: 'int32', data: [vocabSize] },
    { type: 'float32', data: [Infinity] },
  ]);
}
