import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, describeShape, InvalidArgumentError, ShapeError } from '@nextdetail/core';

/** How the two children of a cluster are numbered 2j and 2j + 1. */
export type ChildOrder = 'reference' | 'position';

export const CHILD_ORDERS: readonly ChildOrder[] = ['reference', 'position'];

/**
 * Renumbers the clusters of NVG structure maps int32 [B, S, P] (stage s in [0, 2^s), children of j are 2j and 2j + 1)
 * so that at every stage the child holding its parent's first position in row-major order is 2j. The partition is
 * unchanged, and so are the per-position tokens and f̂; only the names of the clusters change.
 *
 * The reference numbers the children by the order in which the greedy clustering merged them, which on Fashion-MNIST
 * puts a given half of the first split on either side about equally often (the corner position is in child 0 of 54 %
 * of training images): the structure flow then has to learn a two-mode distribution whose mean is uninformative.
 * Numbered by position, the half holding the corner (usually background) is always child 0.
 */
// Not in the reference: NVG paper §3.1 leaves the children's order open; the digest §3.2 gives the reference's.
export async function orderChildrenByPosition(labels_BSP: tf.Tensor3D): Promise<tf.Tensor3D> {
  checkTensor(labels_BSP, 'labels_BSP', { rank: 3, dtype: 'int32' });
  const [batch, stages, positions] = labels_BSP.shape;
  if (stages < 1 || positions < 1) throw new ShapeError('labels_BSP', '[B, S ≥ 1, P ≥ 1]', describeShape(labels_BSP.shape));
  const old = await labels_BSP.data();
  const renamed = new Int32Array(old.length);
  for (let b = 0; b < batch; b++) {
    const base = b * stages * positions;
    for (let s = 1; s < stages; s++) {
      const clusters = 2 ** s;
      const rename = new Int32Array(clusters).fill(-1);
      const taken = new Uint8Array(clusters / 2);
      for (let p = 0; p < positions; p++) {
        const label = old[base + s * positions + p]!;
        const parent = renamed[base + (s - 1) * positions + p]!;
        if (label < 0 || label >= clusters || label >> 1 !== old[base + (s - 1) * positions + p]!) {
          throw new InvalidArgumentError(
            `labels_BSP[${b}, ${s}, ${p}]`,
            `a child (2j or 2j + 1) of its stage-${s - 1} cluster j = ${old[base + (s - 1) * positions + p]}`,
            String(label),
          );
        }
        if (rename[label] === -1) rename[label] = 2 * parent + taken[parent]!++;
        renamed[base + s * positions + p] = rename[label]!;
      }
    }
  }
  return tf.tensor3d(renamed, [batch, stages, positions], 'int32');
}
