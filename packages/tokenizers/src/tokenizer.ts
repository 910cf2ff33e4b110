import type * as tf from '@tensorflow/tfjs-core';

/**
 * One generation step of a token plan: the token ids the transformer predicts at that step and the grid they lie on.
 * `kind` says which family's step it is: VAR/FlexVAR scales, CART base and detail maps, NVG granularity stages.
 */
export type TokenStep = {
  kind: 'scale' | 'base' | 'detail' | 'granularity';
  /** The step's token grid [h, w]; ids are row-major over it. */
  size: [number, number];
  /** int32 [B, h·w]. */
  idx_Bl: tf.Tensor2D;
};

/** Everything a tokenizer turns images into, in generation order. A type alias so `tf.dispose(plan)` accepts it. */
export type TokenPlan = { steps: TokenStep[] };

/**
 * The seam between image tokenizers and the transformer (shared/docs/architecture.md): the transformer and the
 * samplers see only token plans and teacher-forcing inputs, whatever the quantizer family. Images are NHWC in
 * [−1, 1]. Every returned tensor is the caller's to dispose.
 */
export interface Tokenizer {
  /** Images → token plan. */
  encode(images_BHWC: tf.Tensor4D): TokenPlan;
  /** Token plan → images (what the reference's decoder returns, clamped where the reference clamps). */
  decode(plan: TokenPlan): tf.Tensor4D;
  /** The transformer's teacher-forcing input for a plan: [B, L − (first step's tokens), C]. */
  teacherForcing(plan: TokenPlan): tf.Tensor3D;
  dispose(): void;
}
