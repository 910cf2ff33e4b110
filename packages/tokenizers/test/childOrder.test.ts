import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError } from '@nextdetail/core';
import { orderChildrenByPosition } from '../src/quantizer/childOrder.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { thrown } from './helpers.js';

/** Stage s's label of each position, from each position's path of bits (MSB first) below the root. */
function mapsFromPaths(paths: number[][], stages: number): number[][] {
  return Array.from({ length: stages }, (_, s) => paths.map((bits) => bits.slice(0, s).reduce((l, bit) => 2 * l + bit, 0)));
}

/** Whether positions p and q share a cluster at every stage, for both maps. */
function samePartition(a: number[][], b: number[][]): boolean {
  return a.every((row, s) => row.every((l, p) => row.every((m, q) => (l === m) === (b[s]![p] === b[s]![q]))));
}

describe(`orderChildrenByPosition [${backendName()}]`, () => {
  it('renames each pair of children so that the one holding the parent’s first position is 2j; the partition is unchanged; leak-free', async () => {
    // 8 positions, 4 stages; the reference's merge order put the first position's half second at stage 1.
    const paths = [
      [1, 0, 1],
      [0, 1, 1],
      [1, 1, 0],
      [0, 0, 0],
      [1, 0, 0],
      [0, 1, 0],
      [1, 1, 1],
      [0, 0, 1],
    ];
    const maps = mapsFromPaths(paths, 4);
    const labels_BSP = tf.tensor3d([maps, maps.map((row) => [...row].reverse())], [2, 4, 8], 'int32');
    await expectNoLeaks(async () => {
      const renamed_BSP = await orderChildrenByPosition(labels_BSP);
      const [first, second] = (await renamed_BSP.array()) as number[][][];
      // Worked by hand from the paths above: position 0's path becomes all zeros.
      expect(first).toEqual([
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 1, 0, 1, 0, 1, 0, 1],
        [0, 2, 1, 3, 0, 2, 1, 3],
        [0, 4, 2, 6, 1, 5, 3, 7],
      ]);
      expect(samePartition(first!, maps)).toBe(true);
      expect(samePartition(second!, maps.map((row) => [...row].reverse()))).toBe(true);
      for (const renamed of [first!, second!]) {
        for (let s = 1; s < 4; s++) {
          renamed[s]!.forEach((l, p) => expect(l >> 1).toBe(renamed[s - 1]![p]));
          // The first position of every cluster is in its even child.
          for (let j = 0; j < 2 ** (s - 1); j++) {
            const firstOfParent = renamed[s - 1]!.indexOf(j);
            expect(renamed[s]![firstOfParent]).toBe(2 * j);
          }
        }
      }
      // Renaming twice changes nothing.
      const again_BSP = await orderChildrenByPosition(renamed_BSP);
      expect(await again_BSP.array()).toEqual(await renamed_BSP.array());
      tf.dispose([renamed_BSP, again_BSP]);
    });
    labels_BSP.dispose();
  });

  it('rejects maps that are not a hierarchy, and bad shapes or dtypes, with typed errors, leak-free', async () => {
    const notChild = tf.tensor3d([[[0, 0, 0, 0], [0, 0, 1, 1], [0, 2, 2, 3]]], [1, 3, 4], 'int32');
    const badRoot = tf.tensor3d([[[1, 1, 1, 1], [0, 0, 1, 1]]], [1, 2, 4], 'int32');
    const floats = tf.zeros([1, 2, 4]) as tf.Tensor3D;
    const empty = tf.zeros([1, 0, 4], 'int32') as tf.Tensor3D;
    await expectNoLeaks(async () => {
      const e1 = (await thrown(() => orderChildrenByPosition(notChild))) as InvalidArgumentError;
      expect([e1 instanceof InvalidArgumentError, e1.argument]).toEqual([true, 'labels_BSP[0, 2, 1]']);
      expect(e1.message).toMatch(/child.*of its stage-1 cluster j = 0/);
      const e2 = (await thrown(() => orderChildrenByPosition(badRoot))) as InvalidArgumentError;
      expect(e2.argument).toBe('labels_BSP[0, 1, 0]');
      const e3 = (await thrown(() => orderChildrenByPosition(floats))) as InvalidArgumentError;
      expect(e3.argument).toBe('labels_BSP');
      const e4 = await thrown(() => orderChildrenByPosition(empty));
      expect([e4 instanceof ShapeError, (e4 as ShapeError).argument]).toEqual([true, 'labels_BSP']);
    });
    tf.dispose([notChild, badRoot, floats, empty]);
  });
});
