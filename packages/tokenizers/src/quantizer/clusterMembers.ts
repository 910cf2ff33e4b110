import { ValueRangeError } from '@nextdetail/core';

/**
 * The positions of every cluster of batch item `b` in a stage-`stage` structure map (`labels`, the [B, P] map read
 * back flat), keyed by label in order of first appearance, each list in position order. A label outside
 * [0, 2^stage) is a ValueRangeError naming `argument`.
 */
export function clusterMembers(labels: Int32Array, b: number, positions: number, stage: number, argument = 'labels_BP'): Map<number, number[]> {
  const members = new Map<number, number[]>();
  for (let p = 0; p < positions; p++) {
    const label = labels[b * positions + p]!;
    if (label < 0 || label >= 2 ** stage) {
      throw new ValueRangeError(argument, `stage-${stage} labels in [0, ${2 ** stage})`, `${label} at (${b}, ${p})`);
    }
    if (!members.has(label)) members.set(label, []);
    members.get(label)!.push(p);
  }
  return members;
}
