import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, checkValues, describeShape, ShapeError, ValueRangeError } from '@nextdetail/core';

// Channel values of the bit-style code: a known bit is 0 or 2, and 1 (their midpoint) marks a bit not decided yet.
const UNKNOWN = 1;

/**
 * NVG's hierarchical structure embedding of the stage-`stage` label map `labels_BP` (int32 [B, P], labels in
 * [0, 2^stage)): int32 [B, P, width], where channel b < stage holds 2·(bit b of the label, most significant first) and
 * the other channels hold 1. `width` is the number of stages after stage 0 (8 for NVG's nine stages). The caller owns
 * the result.
 */
// NVG paper §3.2 and App. A.3 (structure embedding); reference digest §3.2 "Structure bits"
export async function structureBits(labels_BP: tf.Tensor2D, stage: number, width: number): Promise<tf.Tensor3D> {
  checkTensor(labels_BP, 'labels_BP', { rank: 2, dtype: 'int32' });
  checkNumber(width, 'width', { integer: true, min: 1, max: 30 });
  checkNumber(stage, 'stage', { integer: true, min: 0, max: width });
  await checkValues(labels_BP, 'labels_BP', { min: 0, max: 2 ** stage - 1, label: `stage-${stage} labels in [0, ${2 ** stage})` });
  return tf.tidy(() => {
    const [known_W, weights_W] = channelLayout(stage, width);
    const labels_BP1 = tf.expandDims(tf.cast(labels_BP, 'float32'), 2);
    // floor(label / 2^k) mod 2 is bit k; powers of two keep every step exact in float32 for labels below 2^24.
    const shifted_BPW = tf.floor(tf.div(labels_BP1, weights_W));
    const bit_BPW = tf.sub(shifted_BPW, tf.mul(tf.floor(tf.div(shifted_BPW, 2)), 2));
    return tf.cast(tf.add(tf.mul(known_W, tf.mul(bit_BPW, 2)), tf.mul(tf.sub(1, known_W), UNKNOWN)), 'int32') as tf.Tensor3D;
  });
}

/**
 * The exact inverse of `structureBits`: the stage-`stage` labels int32 [B, P] of a code int32 [B, P, width]. Throws
 * a ValueRangeError unless the first `stage` channels hold only 0 or 2 and the others only 1.
 */
// NVG paper App. A.3; reference digest §3.2 "Structure bits"
export async function structureLabels(bits_BPW: tf.Tensor3D, stage: number): Promise<tf.Tensor2D> {
  checkTensor(bits_BPW, 'bits_BPW', { rank: 3, dtype: 'int32' });
  const width = bits_BPW.shape[2];
  if (width < 1 || width > 30) {
    throw new ShapeError('bits_BPW', '[B, P, width] with width in [1, 30]', describeShape(bits_BPW.shape));
  }
  checkNumber(stage, 'stage', { integer: true, min: 0, max: width });
  const invalid = tf.tidy(() => {
    const known_W = channelLayout(stage, width)[0];
    const bits = tf.cast(bits_BPW, 'float32');
    const isBit = tf.cast(tf.logicalOr(tf.equal(bits, 0), tf.equal(bits, 2)), 'float32');
    const valid = tf.add(tf.mul(known_W, isBit), tf.mul(tf.sub(1, known_W), tf.cast(tf.equal(bits, UNKNOWN), 'float32')));
    return tf.sum(tf.sub(1, valid));
  });
  const count = (await invalid.data())[0]!;
  invalid.dispose();
  if (count > 0) {
    throw new ValueRangeError(
      'bits_BPW',
      `0 or 2 in the first ${stage} channel(s) and 1 in the others (a stage-${stage} code)`,
      `${count} value(s) that are not`,
    );
  }
  return tf.tidy(() => {
    const [known_W, weights_W] = channelLayout(stage, width);
    const halves_BPW = tf.div(tf.cast(bits_BPW, 'float32'), 2);
    return tf.cast(tf.sum(tf.mul(tf.mul(halves_BPW, weights_W), known_W), 2), 'int32') as tf.Tensor2D;
  });
}

/**
 * Which channels carry a bit at `stage` (1, else 0) and the place value 2^(stage − 1 − b) of channel b, float32 [W]
 * each. Masks are multiplied rather than passed to tf.where, whose WASM kernel does not broadcast.
 */
function channelLayout(stage: number, width: number): [tf.Tensor1D, tf.Tensor1D] {
  const channels = Array.from({ length: width }, (_, b) => b);
  return [
    tf.tensor1d(channels.map((b) => (b < stage ? 1 : 0)), 'float32'),
    tf.tensor1d(channels.map((b) => (b < stage ? 2 ** (stage - 1 - b) : 1)), 'float32'),
  ];
}
