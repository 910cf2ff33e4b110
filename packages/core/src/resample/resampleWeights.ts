import { InvalidArgumentError } from '../errors.js';
import { checkNumber, describeValue } from '../validate.js';
import { areaWeights } from './areaWeights.js';
import { bicubicWeights } from './bicubicWeights.js';
import { bilinearTf1Weights, bilinearWeights } from './bilinearWeights.js';

/**
 * - `area`: PyTorch `F.interpolate(mode='area')` (adaptive average pooling; also upsamples).
 * - `bicubic`: PyTorch `F.interpolate(mode='bicubic')`, A = −0.75, no antialias.
 * - `bilinear`: PyTorch `F.interpolate(mode='bilinear')`, half-pixel centres, no antialias (pytorch-fid's resize).
 * - `bilinear-tf1`: TF1 `ResizeBilinear` without half-pixel centres (the FID Inception graph's resize; TTUR, ADM,
 *   torch-fidelity).
 */
export const RESAMPLE_MODES = ['area', 'bicubic', 'bilinear', 'bilinear-tf1'] as const;
export type ResampleMode = (typeof RESAMPLE_MODES)[number];

export interface ResampleOptions {
  /** PyTorch's `align_corners=True` (corner samples map onto corner samples); `bicubic` and `bilinear` only. */
  alignCorners?: boolean;
}

const ALIGNABLE: readonly ResampleMode[] = ['bicubic', 'bilinear'];

export function checkResampleMode(mode: unknown, argument = 'mode'): asserts mode is ResampleMode {
  if (!(RESAMPLE_MODES as readonly unknown[]).includes(mode)) {
    const expected = `one of ${RESAMPLE_MODES.map((m) => `"${m}"`).join(', ')}`;
    throw new InvalidArgumentError(argument, expected, describeValue(mode));
  }
}

/** The alignCorners flag of `options`, checked against `mode`. */
export function resolveAlignCorners(mode: ResampleMode, options: ResampleOptions | undefined): boolean {
  if (options === undefined) return false;
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'an object or undefined', describeValue(options));
  }
  const { alignCorners } = options;
  if (alignCorners === undefined) return false;
  if (typeof alignCorners !== 'boolean') {
    throw new InvalidArgumentError('options.alignCorners', 'a boolean', describeValue(alignCorners));
  }
  if (alignCorners && !ALIGNABLE.includes(mode)) {
    throw new InvalidArgumentError('options.alignCorners', `false or undefined for mode "${mode}"`, 'true');
  }
  return alignCorners;
}

// Models resample at a handful of fixed sizes; the bound keeps an app that resizes arbitrary images from growing the
// cache without limit.
const CACHE_LIMIT = 64;
const cache = new Map<string, Float32Array>();

/**
 * The shared, cached [outSize × inSize] matrix; callers must not write to it. Sizes and mode are assumed checked.
 */
export function cachedResampleWeights(
  mode: ResampleMode,
  inSize: number,
  outSize: number,
  alignCorners: boolean,
): Float32Array {
  const key = `${mode}:${alignCorners ? 'ac' : 'hp'}:${inSize}:${outSize}`;
  const hit = cache.get(key);
  if (hit) {
    // Refresh its place: the Map's insertion order is the eviction order.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const weights =
    mode === 'area'
      ? areaWeights(inSize, outSize)
      : mode === 'bicubic'
        ? bicubicWeights(inSize, outSize, alignCorners)
        : mode === 'bilinear'
          ? bilinearWeights(inSize, outSize, alignCorners)
          : bilinearTf1Weights(inSize, outSize);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, weights);
  return weights;
}

/**
 * The matrix W ([outSize × inSize], row-major) of one resampling axis: out[i] = Σ_j W[i·inSize + j]·in[j]. `resize`
 * applies one per axis. Returns a copy the caller may modify.
 */
export function resampleWeights(
  mode: ResampleMode,
  inSize: number,
  outSize: number,
  options?: ResampleOptions,
): Float32Array {
  checkResampleMode(mode);
  checkNumber(inSize, 'inSize', { integer: true, min: 1 });
  checkNumber(outSize, 'outSize', { integer: true, min: 1 });
  return cachedResampleWeights(mode, inSize, outSize, resolveAlignCorners(mode, options)).slice();
}
