import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, checkNumber, checkTensor, describeValue } from '@nextdetail/core';

/** Features as a row-major matrix: `rows` samples × `dim` features. */
export interface FeatureMatrix {
  data: Float32Array | Float64Array;
  rows: number;
  dim: number;
}

/** What the metric functions accept as features: a FeatureMatrix or a rank-2 float32 tensor [rows, dim]. */
export type FeatureInput = FeatureMatrix | tf.Tensor2D;

/** Checks a FeatureMatrix and returns it. */
export function checkFeatureMatrix(x: unknown, argument: string, minRows = 1): FeatureMatrix {
  if (typeof x !== 'object' || x === null) throw new InvalidArgumentError(argument, 'a feature matrix {data, rows, dim}', describeValue(x));
  const m = x as FeatureMatrix;
  if (!(m.data instanceof Float32Array || m.data instanceof Float64Array)) {
    throw new InvalidArgumentError(`${argument}.data`, 'a Float32Array or Float64Array', describeValue(m.data));
  }
  checkNumber(m.rows, `${argument}.rows`, { integer: true, min: minRows });
  checkNumber(m.dim, `${argument}.dim`, { integer: true, min: 1 });
  if (m.data.length !== m.rows * m.dim) {
    throw new ShapeError(`${argument}.data`, `${m.rows}×${m.dim} = ${m.rows * m.dim} values`, `${m.data.length} values`);
  }
  return m;
}

/** A FeatureInput read back as a FeatureMatrix (tensors are read asynchronously and left alone). */
export async function toFeatureMatrix(x: FeatureInput, argument: string, minRows = 1): Promise<FeatureMatrix> {
  if (x instanceof tf.Tensor) {
    checkTensor(x, argument, { rank: 2, dtype: 'float32' });
    const [rows, dim] = x.shape as [number, number];
    const m = { data: (await x.data()) as Float32Array, rows, dim };
    return checkFeatureMatrix(m, argument, minRows);
  }
  return checkFeatureMatrix(x, argument, minRows);
}
