/**
 * Linear interpolation matrices ([outSize × inSize], row-major), computed in float64 from the definitions. The
 * reference kernels round the coordinate differently (TF1 computes scale and coordinate in float32, torch-fidelity
 * uses a float32 scale, torch a float32 scale for float32 input), which moves a 32 → 299 resize of [0, 1] data by up
 * to ~2e-6; no float32 reference output pins one of them down, and the FID goldens were computed in float64.
 */

/** s ↦ (1 − λ) at lo = floor(s), λ at hi = min(lo + 1, n − 1), for s ≥ 0. */
function linearRow(weights: Float64Array, row: number, s: number, inSize: number): void {
  const lo = Math.floor(s);
  const hi = Math.min(lo + 1, inSize - 1);
  const lambda = s - lo;
  weights[row * inSize + lo]! += 1 - lambda;
  weights[row * inSize + hi]! += lambda;
}

/**
 * PyTorch `F.interpolate(mode='bilinear', antialias=False)` along one axis. Half-pixel centres clamped below at 0:
 * s = max((i + 0.5)·n/o − 0.5, 0); with align_corners=True, s = i·(n − 1)/(o − 1) (0 when o = 1).
 */
// pytorch/pytorch:aten/src/ATen/native/UpSample.h (area_pixel_compute_source_index, cubic=false)
export function bilinearWeights(inSize: number, outSize: number, alignCorners: boolean): Float32Array {
  const weights = new Float64Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const s = alignCorners
      ? outSize > 1
        ? (i * (inSize - 1)) / (outSize - 1)
        : 0
      : Math.max(((i + 0.5) * inSize) / outSize - 0.5, 0);
    linearRow(weights, i, s, inSize);
  }
  return Float32Array.from(weights);
}

/**
 * TF1 `ResizeBilinear(align_corners=False, half_pixel_centers=False)` along one axis, the resize inside the FID
 * Inception graph (and tfjs's resizeBilinear default): s = i·n/o, no half-pixel offset.
 */
// tensorflow/tensorflow:tensorflow/core/kernels/image/resize_bilinear_op.cc (compute_interpolation_weights,
// LegacyScaler)
export function bilinearTf1Weights(inSize: number, outSize: number): Float32Array {
  const weights = new Float64Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) linearRow(weights, i, (i * inSize) / outSize, inSize);
  return Float32Array.from(weights);
}
