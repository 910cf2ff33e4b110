import type * as tf from '@tensorflow/tfjs-core';

/** RoPE tables as the networks produce and consume them (cos/sin [B, 1, T, F]). */
export type NvgRotaryTable = { cos_B1TF: tf.Tensor; sin_B1TF: tf.Tensor };

/**
 * What the NVG samplers need from the generator networks — the shape of @nextdetail/transformer's NvgGenerator,
 * stated here so that sampling depends on behaviour, not on the class.
 */
export interface NvgNetworks {
  readonly config: {
    readonly stages: number;
    readonly positions: number;
    readonly cvae: number;
    readonly numClasses: number;
    readonly structureBits: number;
    readonly structureStages: number;
  };
  readonly content: {
    apply(input: { canvas_BPC: tf.Tensor; classLabels_B: tf.Tensor; stage: number; rope: NvgRotaryTable }): tf.Tensor;
    clusterLogits(x0_BPC: tf.Tensor, canvas_BPC: tf.Tensor, labels_BP: tf.Tensor, stage: number): tf.Tensor;
  };
  readonly structure: {
    apply(input: {
      z_BPW: tf.Tensor;
      canvas_BPC: tf.Tensor;
      classLabels_B: tf.Tensor;
      stage: number;
      t: number;
      rope: NvgRotaryTable;
    }): tf.Tensor;
  };
  contentRope(bits_BPW: tf.Tensor): Promise<NvgRotaryTable>;
  structureRope(bits_BPW: tf.Tensor): Promise<NvgRotaryTable>;
}
