import type * as tf from '@tensorflow/tfjs-core';
import type { ResolvedGeneratorConfig } from './generatorConfig.js';
import type { ParameterSpecs, ParameterStore } from './parameterStore.js';
import type { ScaleLayout } from './scales.js';

/**
 * How a scale generator tells tokens apart (shared/docs/architecture.md "PositionEncoding"): VAR adds a level
 * embedding and a learned absolute table; FlexVAR resamples a learned 2-D table to each scale's grid.
 */
export interface PositionEncoding {
  /** The encoding's parameters: reference names and PyTorch shapes. */
  spec(c: ResolvedGeneratorConfig): ParameterSpecs;
  /** Throws an InvalidArgumentError naming `argument` if the encoding cannot place `layout`'s tokens. */
  checkLayout(layout: ScaleLayout, argument: string): void;
  /** Positions [1, h·w, C] of scale `si`'s tokens, row-major (si = 0 is the start token). */
  scalePositions(params: ParameterStore, layout: ScaleLayout, si: number): tf.Tensor3D;
  /** Positions [1, L, C] of every token of `layout`, scales concatenated. */
  positions(params: ParameterStore, layout: ScaleLayout): tf.Tensor3D;
}
