/**
 * F.interpolate(mode='area') = adaptive average pooling, as an [outSize × inSize] row-major matrix: output i is the
 * mean of inputs [floor(i·n/o), ceil((i+1)·n/o)). For o > n the bins overlap, so inputs are replicated.
 */
// pytorch/pytorch:aten/src/ATen/native/AdaptivePooling.h (start_index, end_index)
export function areaWeights(inSize: number, outSize: number): Float32Array {
  const weights = new Float32Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    // Exact for i·n < 2^53: a ratio of integers that is not an integer stays ≥ 1/o away from one.
    const start = Math.floor((i * inSize) / outSize);
    const end = Math.ceil(((i + 1) * inSize) / outSize);
    weights.fill(1 / (end - start), i * inSize + start, i * inSize + end);
  }
  return weights;
}
