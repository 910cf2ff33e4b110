/**
 * The [outSize × inSize] matrix (row-major) of PIL's `Image.resize(..., BICUBIC)` along one axis for float ("F")
 * images, which clean-fid uses: bicubic with a = −0.5, and when shrinking the kernel is stretched by the scale
 * (antialiasing), each row normalised to sum 1. Pillow's src/libImaging/Resample.c precompute_coeffs: centre
 * (i + ½)·scale, support 2·max(scale, 1), taps from ⌊centre − support + ½⌋ to ⌊centre + support + ½⌋ clipped to the
 * image.
 */
export function pilBicubicWeights(inSize: number, outSize: number): Float32Array {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const m = new Float32Array(outSize * inSize);
  const taps = new Float64Array(inSize);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    let total = 0;
    for (let x = lo; x < hi; x++) {
      const w = cubic((x - centre + 0.5) / filterScale);
      taps[x] = w;
      total += w;
    }
    for (let x = lo; x < hi; x++) m[i * inSize + x] = total === 0 ? 0 : taps[x]! / total;
  }
  return m;
}

function cubic(t: number): number {
  const a = -0.5;
  const x = Math.abs(t);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}
