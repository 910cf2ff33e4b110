import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, describeShape, describeValue, InvalidArgumentError, ShapeError, ValueRangeError } from '@nextdetail/core';

/**
 * A user structure for NVG's structure-guided generation: the label maps of the first stages (`labels_BSP`, int32
 * [B or 1, k, P], the hierarchy NvgTokenizer's `encode(…, { labels_BSP })` takes), or one region map (`map`) that
 * `structureFromMap` turns into such a hierarchy.
 */
export type StructureGuide = { labels_BSP: tf.Tensor } | { map: tf.Tensor; stages?: number };

/**
 * The hierarchical structure maps int32 [B, k, h·w] of a region map `map` ([H, W] or [B, H, W], any numeric ids, on
 * any grid): the map is resized to the latent grid `grid` by nearest neighbour (PyTorch's `nearest`: source index
 * ⌊i·H/h⌋), its distinct ids over the whole batch, sorted ascending, are ranked 0, 1, …, and stage s < k takes the
 * top s bits of the (k − 1)-bit rank, so stage k − 1 holds the regions themselves, stage s has at most 2^s clusters,
 * and each cluster of stage s + 1 lies inside cluster ⌊l/2⌋ of stage s (NVG's relabelling, digest §3.2). The
 * grouping of regions at the coarser stages therefore follows the ids' order (ids ranked 2j and 2j + 1 merge first);
 * give `labels_BSP` for another hierarchy. `stages` = k defaults to 1 + ⌈log₂(region count)⌉ (2 for a binary mask).
 * Reads the map back; the caller owns the result.
 */
// NVG paper §3.2 "Structure-Guided Generation" (a binary shape mask as the first structure map), §3.1 and App. A.3
// (hierarchical labels, children 2j and 2j + 1)
export async function structureFromMap(map: tf.Tensor, grid: readonly [number, number], stages?: number): Promise<tf.Tensor3D> {
  checkTensor(map, 'structure.map', { rank: [2, 3] });
  const map_BHW = map.rank === 2 ? tf.expandDims(map, 0) : map;
  const [batch, H, W] = map_BHW.shape as [number, number, number];
  const values = await map_BHW.data();
  if (map_BHW !== map) map_BHW.dispose();
  if (batch < 1 || H < 1 || W < 1) throw new ShapeError('structure.map', '[H ≥ 1, W ≥ 1] or [B ≥ 1, H, W]', describeShape(map.shape));
  if (!values.every((v) => Number.isFinite(v))) throw new ValueRangeError('structure.map', 'finite region ids', 'a NaN or infinite value');
  const ids = [...new Set(values)].sort((a, b) => a - b);
  const needed = 1 + Math.ceil(Math.log2(Math.max(ids.length, 1)));
  const k = stages ?? needed;
  checkNumber(k, 'structure.stages', { integer: true, min: 1 });
  if (ids.length > 2 ** (k - 1)) {
    throw new ValueRangeError('structure.map', `at most 2^(stages − 1) = ${2 ** (k - 1)} distinct region ids`, `${ids.length} ids`);
  }
  const rank = new Map(ids.map((v, r) => [v, r]));
  const [h, w] = grid;
  const labels = new Int32Array(batch * k * h * w);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < h; i++) {
      const si = Math.min(Math.floor((i * H) / h), H - 1);
      for (let j = 0; j < w; j++) {
        const sj = Math.min(Math.floor((j * W) / w), W - 1);
        const r = rank.get(values[(b * H + si) * W + sj]!)!;
        for (let s = 0; s < k; s++) labels[((b * k + s) * h + i) * w + j] = r >> (k - 1 - s);
      }
    }
  }
  return tf.tensor3d(labels, [batch, k, h * w], 'int32');
}

/**
 * Checks user structure maps int32 [B or 1, k, P] (1 ≤ k ≤ stages) against NVG's hierarchy — stage 0 all zeros, stage
 * s in [0, 2^s), each label's parent ⌊l/2⌋ the previous stage's label at the same position — and returns them per
 * stage as int32 [B, P] (broadcast over the batch). Reads the maps back; the caller owns the result.
 */
// NVG paper §3.1 and App. A.3 (children of cluster j are 2j and 2j + 1); reference digest §3.2
export async function checkStructureLabels(labels_BSP: tf.Tensor, batch: number, stages: number, positions: number): Promise<tf.Tensor2D[]> {
  checkTensor(labels_BSP, 'structure.labels_BSP', { rank: 3, dtype: 'int32' });
  const [b, k, p] = labels_BSP.shape as [number, number, number];
  if ((b !== batch && b !== 1) || k < 1 || k > stages || p !== positions) {
    throw new ShapeError('structure.labels_BSP', `[${batch} or 1, 1 … ${stages} stages, ${positions}] (B, k, P)`, describeShape(labels_BSP.shape));
  }
  const labels = (await labels_BSP.data()) as Int32Array;
  for (let i = 0; i < b; i++) {
    for (let s = 0; s < k; s++) {
      for (let q = 0; q < p; q++) {
        const l = labels[(i * k + s) * p + q]!;
        const parent = s === 0 ? 0 : labels[(i * k + s - 1) * p + q]!;
        if (l < 0 || l >= 2 ** s || (s > 0 && l >> 1 !== parent)) {
          const expected = s === 0 ? 'stage 0 all zeros' : `stage-${s} labels in [0, ${2 ** s}) whose parent ⌊l/2⌋ is the stage-${s - 1} label`;
          throw new ValueRangeError('structure.labels_BSP', expected, `${l} at (${i}, ${s}, ${q}) under parent ${parent}`);
        }
      }
    }
  }
  return tf.tidy(() =>
    Array.from({ length: k }, (_, s) => {
      const stage_BP = tf.reshape(tf.slice(labels_BSP, [0, s, 0], [b, 1, p]), [b, p]);
      return (b === batch ? stage_BP : tf.tile(stage_BP, [batch, 1])) as tf.Tensor2D;
    }),
  );
}

/** A StructureGuide's form, before any tensor is read. */
export function checkStructureGuide(structure: unknown): StructureGuide {
  const form = structure as Record<string, unknown> | null;
  const hasLabels = form !== null && typeof form === 'object' && 'labels_BSP' in form;
  const hasMap = form !== null && typeof form === 'object' && 'map' in form;
  if (hasLabels === hasMap) {
    throw new InvalidArgumentError('structure', '{ labels_BSP } or { map, stages? }', describeValue(structure));
  }
  return structure as StructureGuide;
}
