const f32 = Math.fround;

/** a·b + c rounded once to float32: a·b of two float32 values is exact in float64. */
function fma32(a: number, b: number, c: number): number {
  return f32(a * b + c);
}

/** ((A + 2)·x − (A + 3))·x·x + 1 for |x| ≤ 1, A = −0.75, in float32. */
function innerTap(x: number): number {
  return f32(f32(f32(f32(f32(1.25 * x) - 2.25) * x) * x) + 1);
}

/** ((A·x − 5A)·x + 8A)·x − 4A for 1 ≤ |x| < 2, A = −0.75, as three float32 fused multiply-adds. */
function outerTap(x: number): number {
  return fma32(fma32(fma32(-0.75, x, 3.75), x, -6), x, 3);
}

/**
 * PyTorch `F.interpolate(mode='bicubic', antialias=False)` along one axis as an [outSize × inSize] row-major matrix:
 * Keys' cubic convolution with A = −0.75 on taps floor(s)−1 … floor(s)+2, each tap index clamped to [0, n−1] (a
 * clamped tap adds its weight to the border sample). The source coordinate is not clamped:
 * s = (i + 0.5)·n/o − 0.5, or s = i·(n − 1)/(o − 1) with align_corners=True.
 *
 * The float32 rounding of torch's CPU kernel is reproduced, as observed in its outputs (shared/fixtures
 * interp.safetensors, torch 1.13): the scale n/o is a float32 and the coordinate computed from it is not rounded; the
 * inner taps are float32 polynomials and the outer taps fused multiply-adds. The outer polynomial cancels terms near
 * ±6 down to weights below 0.1, so its float32 rounding error reaches 6e-7 and shows in the output. Weights computed
 * exactly land up to 2.1e-6 away from torch's float32 outputs; these land within 5e-7.
 */
// pytorch/pytorch:aten/src/ATen/native/UpSample.h (area_pixel_compute_scale, area_pixel_compute_source_index,
// cubic_convolution1, cubic_convolution2, get_cubic_upsample_coefficients)
export function bicubicWeights(inSize: number, outSize: number, alignCorners: boolean): Float32Array {
  const scale = alignCorners ? (outSize > 1 ? f32((inSize - 1) / (outSize - 1)) : 0) : f32(inSize / outSize);
  const weights = new Float64Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const s = alignCorners ? i * scale : (i + 0.5) * scale - 0.5;
    const floor = Math.floor(s);
    const t = f32(s - floor);
    const u = f32(1 - t);
    const taps = [outerTap(f32(t + 1)), innerTap(t), innerTap(u), outerTap(f32(u + 1))];
    taps.forEach((w, k) => {
      const j = Math.min(Math.max(floor - 1 + k, 0), inSize - 1);
      weights[i * inSize + j]! += w;
    });
  }
  return Float32Array.from(weights);
}
