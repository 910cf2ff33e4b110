import type * as tf from '@tensorflow/tfjs-core';

// The same stencil as composite.ts in one WebGPU dispatch instead of fourteen: each output reads its four
// neighbours' values and link weights directly. Written against tfjs-backend-webgpu's program interface
// (WebGPUProgram, runWebGPUProgram), which the backend hands to every kernel, so this file needs no import of it.

const WORKGROUP = 128;
/** WebGPU's per-dimension dispatch limit; larger fields use the composite. */
const MAX_WORKGROUPS = 65535;

interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms: Array<{ type: string; data: number[] }>): tf.TensorInfo;
}

export function fitsOneDispatch(size: number): boolean {
  return Math.ceil(size / WORKGROUP) <= MAX_WORKGROUPS;
}

export function weightedLaplacianWebGPU(
  backend: WebGPUBackendLike,
  u: tf.TensorInfo,
  linksX: tf.TensorInfo,
  linksY: tf.TensorInfo,
  strideX: number,
  strideY: number,
): tf.TensorInfo {
  const size = u.shape.reduce((a, b) => a * b, 1);
  const program = {
    variableNames: ['U', 'LX', 'LY'],
    outputShape: [size],
    shaderKey: 'nextdetail_weighted_laplacian',
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1] as [number, number, number],
    workgroupSize: [WORKGROUP, 1, 1] as [number, number, number],
    size: true,
    uniforms: 'strideX : i32, strideY : i32,',
    getUserCode: () => `
      fn valueAt(i : i32) -> f32 {
        if (i < uniforms.size) { return U[i]; }
        return 0.0;
      }
      fn flow(links : f32, i : i32, stride : i32) -> f32 {
        return links * (valueAt(i) - valueAt(i + stride));
      }
      fn main(index : i32) {
        if (index < uniforms.size) {
          var out = flow(LX[index], index, uniforms.strideX) + flow(LY[index], index, uniforms.strideY);
          if (index >= uniforms.strideX) {
            out = out - flow(LX[index - uniforms.strideX], index - uniforms.strideX, uniforms.strideX);
          }
          if (index >= uniforms.strideY) {
            out = out - flow(LY[index - uniforms.strideY], index - uniforms.strideY, uniforms.strideY);
          }
          result[index] = out;
        }
      }
    `,
  };
  const flat = (t: tf.TensorInfo): tf.TensorInfo => ({ dataId: t.dataId, shape: [size], dtype: t.dtype });
  const out = backend.runWebGPUProgram(program, [flat(u), flat(linksX), flat(linksY)], 'float32', [
    { type: 'int32', data: [strideX] },
    { type: 'int32', data: [strideY] },
  ]);
  return { dataId: out.dataId, shape: [...u.shape], dtype: 'float32' };
}
