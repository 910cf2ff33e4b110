import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, ValueRangeError } from '@nextdetail/core';
import { bisectClusters } from '../src/quantizer/clusterBisection.js';
import { granularityClustering } from '../src/quantizer/granularityClustering.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { rejects } from './helpers.js';

describe(`cluster bisection [${backendName()}]`, () => {
  it('splits each stage of granularityClustering into exactly its next stage', async () => {
    // 16 positions keep every distance on torch.cdist's direct path in both, so the rounding is the same.
    const f_BHWC = tf.randomNormal([3, 4, 4, 5], 0, 1, 'float32', 11) as tf.Tensor4D;
    const f_BPC = tf.reshape(f_BHWC, [3, 16, 5]);
    const hierarchy = await granularityClustering(f_BHWC);
    const stages = hierarchy.shape[1];
    for (let s = 0; s + 1 < stages; s++) {
      const [labels_BP, expected_BP] = tf.tidy(() => [0, 1].map((k) => tf.reshape(tf.slice(hierarchy, [0, s + k, 0], [-1, 1, -1]), [3, 16])));
      const next = await expectNoLeaks(async () => {
        const t = await bisectClusters(labels_BP!, f_BPC, s);
        const data = Array.from(await t.data());
        t.dispose();
        return data;
      });
      expect(next, `stage ${s}`).toEqual(Array.from(await expected_BP!.data()));
      tf.dispose([labels_BP!, expected_BP!]);
    }
    tf.dispose([f_BHWC, f_BPC, hierarchy]);
  });

  it('carries an unpaired member of an odd cluster into the next round and keeps a lone member at 2j', async () => {
    // Cluster 0 = positions 0, 1, 2: (0, 2) pair first, 1 is left over and forms the second half. Cluster 1 = {3}.
    const labels_BP = tf.tensor2d([[0, 0, 0, 1]], [1, 4], 'int32');
    const f_BPC = tf.tensor3d([[[0], [10], [0.5], [7]]]);
    const next = await bisectClusters(labels_BP, f_BPC, 1);
    expect(Array.from(await next.data())).toEqual([0, 1, 0, 2]);
    tf.dispose([labels_BP, f_BPC, next]);
  });

  it('rejects labels outside the stage, mismatched or non-finite features and a bad stage, naming the argument', async () => {
    const labels_BP = tf.tensor2d([[0, 0, 1, 2]], [1, 4], 'int32');
    const ok_BP = tf.tensor2d([[0, 0, 1, 1]], [1, 4], 'int32');
    const f_BPC = tf.ones([1, 4, 2]);
    const short_BPC = tf.ones([1, 3, 2]);
    const nan_BPC = tf.tensor3d([[[0, 1], [NaN, 1], [0, 0], [1, 1]]]);
    await rejects(bisectClusters(labels_BP, f_BPC, 1), ValueRangeError, 'labels_BP');
    await rejects(bisectClusters(ok_BP, short_BPC, 1), ShapeError, 'f_BPC');
    await rejects(bisectClusters(ok_BP, nan_BPC, 1), ValueRangeError, 'f_BPC');
    await rejects(bisectClusters(ok_BP, f_BPC, 0.5), InvalidArgumentError, 'stage');
    await rejects(bisectClusters(tf.cast(ok_BP, 'float32'), f_BPC, 1), InvalidArgumentError, 'labels_BP');
    tf.dispose([labels_BP, ok_BP, f_BPC, short_BPC, nan_BPC]);
  });
});
