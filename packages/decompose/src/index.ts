export { decompose, disposeDecomposition, smooth } from './decompose.js';
export type {
  Decomposition,
  DecomposeOptions,
  DecomposeProgress,
  SmoothOptions,
  Smoothed,
  SmoothingMethod,
} from './decompose.js';
export { CART_AMBROSIO_TORTORELLI } from './ambrosioTortorelli.js';
export type { AmbrosioTortorelliOptions } from './ambrosioTortorelli.js';
export { DEFAULT_GUIDED_FILTER } from './guidedFilter.js';
export type { GuidedFilterOptions } from './guidedFilter.js';
export type { ConjugateGradientOptions } from './conjugateGradient.js';
export type { ValueRange } from './imageInput.js';
