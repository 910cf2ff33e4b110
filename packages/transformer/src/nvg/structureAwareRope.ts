import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, ShapeError } from '@nextdetail/core';

/** Width of the first RoPE axis, which tells the class token, image tokens and (structure model) canvas tokens apart. */
export const IDENTITY_AXIS_DIM = 8;

/** RoPE base θ: axis a of width d rotates pair i by id_a·θ^(−2i/d). */
const THETA = 10000;

/** Values of the identity axis: image (or structure) tokens, and the structure model's canvas-condition tokens. */
const IMAGE_TOKEN = 0;
const CANVAS_CONDITION_TOKEN = 2;

/**
 * cos/sin of every rotated channel pair, [B, 1, T, F] each (F = head width / 2), shared by the heads. A type alias so
 * that tf.dispose accepts it.
 */
export type RotaryTable = { cos_B1TF: tf.Tensor; sin_B1TF: tf.Tensor };

/**
 * The widths of the RoPE axes for a head of `headDim` channels and a `structureBits`-channel structure code:
 * [8 (identity), 2 per structure bit, the rest split evenly between row and column] — [8, 2×8, 20, 20] for NVG's
 * head width 64 and nine stages.
 */
// NVG paper §2.2.2 "Structure-Aware RoPE"; reference digest §3.3 "RoPE"
export function ropeAxesDims(headDim: number, structureBits: number): number[] {
  checkNumber(headDim, 'headDim', { integer: true, min: 2 });
  checkNumber(structureBits, 'structureBits', { integer: true, min: 0 });
  const spatial = (headDim - IDENTITY_AXIS_DIM - 2 * structureBits) / 2;
  if (!Number.isInteger(spatial) || spatial < 2 || spatial % 2 !== 0) {
    throw new ShapeError(
      'headDim',
      `${IDENTITY_AXIS_DIM} + 2·${structureBits} + two equal even spatial widths`,
      `${headDim} (leaves ${headDim - IDENTITY_AXIS_DIM - 2 * structureBits} for rows and columns)`,
    );
  }
  return [IDENTITY_AXIS_DIM, ...Array<number>(structureBits).fill(2), spatial, spatial];
}

/**
 * Writes image-token ids: the base ids of `token` (from the `rope_ids` buffer) with the identity axis set to `identity`
 * and axes 1..W set to the structure code of position p.
 */
function writeImageTokenIds(
  out: Float64Array,
  at: number,
  baseIds_TA: ArrayLike<number>,
  token: number,
  axes: number,
  identity: number,
  bits_BPW: ArrayLike<number>,
  codeAt: number,
  width: number,
): void {
  for (let a = 0; a < axes; a++) out[at + a] = baseIds_TA[token * axes + a]!;
  out[at] = identity;
  for (let w = 0; w < width; w++) out[at + 1 + w] = bits_BPW[codeAt + w]!;
}

function checkIds(baseIds_TA: ArrayLike<number>, bits_BPW: ArrayLike<number>, batch: number, tokens: number, axes: number): number {
  const positions = tokens - 1;
  const width = axes - 3;
  if (baseIds_TA.length !== tokens * axes) {
    throw new ShapeError('baseIds_TA', `${tokens}×${axes} values (the rope_ids buffer)`, `${baseIds_TA.length}`);
  }
  if (width < 0 || bits_BPW.length !== batch * positions * width) {
    throw new ShapeError('bits_BPW', `${describeShape([batch, positions, width])} values (B, P, W)`, `${bits_BPW.length}`);
  }
  return width;
}

/**
 * RoPE ids of the content sequence [B, P + 1, A]: the class token keeps the buffer's ids (all ones), image token
 * 1 + p has identity 0, the structure code of p (0/2 known bits, 1 unknown) on axes 1..W, and its row and column.
 * `baseIds_TA` is the `rope_ids` buffer [P + 1, A]; `bits_BPW` the stage's structure code [B, P, W].
 */
// Reference digest §3.3 "RoPE" (content sequence)
export function contentRopeIds(baseIds_TA: ArrayLike<number>, bits_BPW: ArrayLike<number>, batch: number, axes: number): Float64Array {
  const tokens = baseIds_TA.length / axes;
  const width = checkIds(baseIds_TA, bits_BPW, batch, tokens, axes);
  const positions = tokens - 1;
  const ids = new Float64Array(batch * tokens * axes);
  for (let b = 0; b < batch; b++) {
    for (let a = 0; a < axes; a++) ids[b * tokens * axes + a] = baseIds_TA[a]!;
    for (let p = 0; p < positions; p++) {
      const at = (b * tokens + 1 + p) * axes;
      writeImageTokenIds(ids, at, baseIds_TA, 1 + p, axes, IMAGE_TOKEN, bits_BPW, (b * positions + p) * width, width);
    }
  }
  return ids;
}

/**
 * RoPE ids of the structure sequence [B, 1 + 2P, A]: the class token, P canvas-condition tokens (identity 2) and P
 * structure tokens (identity 0), both with the stage's structure code and their row and column.
 */
// NVG paper App. A.4 ("the first part is extended to text/image/structure identification"); digest §3.3 "RoPE"
export function structureRopeIds(baseIds_TA: ArrayLike<number>, bits_BPW: ArrayLike<number>, batch: number, axes: number): Float64Array {
  const baseTokens = baseIds_TA.length / axes;
  const width = checkIds(baseIds_TA, bits_BPW, batch, baseTokens, axes);
  const positions = baseTokens - 1;
  const tokens = 1 + 2 * positions;
  const ids = new Float64Array(batch * tokens * axes);
  for (let b = 0; b < batch; b++) {
    for (let a = 0; a < axes; a++) ids[b * tokens * axes + a] = baseIds_TA[a]!;
    for (let p = 0; p < positions; p++) {
      const codeAt = (b * positions + p) * width;
      const cond = (b * tokens + 1 + p) * axes;
      const struct = (b * tokens + 1 + positions + p) * axes;
      writeImageTokenIds(ids, cond, baseIds_TA, 1 + p, axes, CANVAS_CONDITION_TOKEN, bits_BPW, codeAt, width);
      writeImageTokenIds(ids, struct, baseIds_TA, 1 + p, axes, IMAGE_TOKEN, bits_BPW, codeAt, width);
    }
  }
  return ids;
}

/**
 * cos and sin of id_a·θ^(−2i/d_a) for every token and frequency pair (which rotates channels 2f and 2f + 1 of every
 * head as (x0, x1) → (cos·x0 − sin·x1, sin·x0 + cos·x1)), computed on the host in float64 (as the
 * reference does) and rounded once to float32. `ids` is [B, T, A] row-major; axis a contributes d_a/2 pairs, in order.
 * The caller owns the result.
 */
// Reference digest §3.3 "RoPE" (axis frequencies, pair rotation)
export function rotaryTable(ids: ArrayLike<number>, batch: number, tokens: number, axesDims: readonly number[]): RotaryTable {
  const axes = axesDims.length;
  if (ids.length !== batch * tokens * axes) {
    throw new ShapeError('ids', `${describeShape([batch, tokens, axes])} values (B, T, A)`, `${ids.length}`);
  }
  const omegas: [number, number][] = [];
  axesDims.forEach((d, a) => {
    for (let i = 0; i < d / 2; i++) omegas.push([a, Math.pow(THETA, (-2 * i) / d)]);
  });
  const pairs = omegas.length;
  const cos = new Float32Array(batch * tokens * pairs);
  const sin = new Float32Array(batch * tokens * pairs);
  for (let bt = 0; bt < batch * tokens; bt++) {
    for (let f = 0; f < pairs; f++) {
      const [a, omega] = omegas[f]!;
      const angle = ids[bt * axes + a]! * omega;
      cos[bt * pairs + f] = Math.cos(angle);
      sin[bt * pairs + f] = Math.sin(angle);
    }
  }
  const shape = [batch, 1, tokens, pairs];
  return { cos_B1TF: tf.tensor(cos, shape, 'float32'), sin_B1TF: tf.tensor(sin, shape, 'float32') };
}

/** Throws a ShapeError unless `rope` holds tables [batch, 1, tokens, F] (what the networks' forward passes need). */
export function checkRotaryTable(rope: RotaryTable, batch: number, tokens: number): void {
  for (const [t, argument] of [[rope?.cos_B1TF, 'rope.cos_B1TF'], [rope?.sin_B1TF, 'rope.sin_B1TF']] as const) {
    checkTensor(t, argument, { rank: 4, dtype: 'float32' });
    if (t.shape[0] !== batch || t.shape[1] !== 1 || t.shape[2] !== tokens) {
      throw new ShapeError(argument, `[${batch}, 1, ${tokens}, F] (the batch and sequence of the inputs)`, describeShape(t.shape));
    }
  }
}
