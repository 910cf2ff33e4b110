import { RandomGenerator } from '@nextdetail/core';
import { type FeatureMatrix, frechetDistanceFromFeatures, inceptionScore, kernelInceptionDistance, precisionRecall } from '@nextdetail/eval';

/** The sample-quality metrics of a generated set against a real one, all on one feature space. */
export interface ImageMetrics {
  /** Fréchet distance of the feature Gaussians (Heusel et al. 2017, eq. 6). */
  fid: number;
  /** Kernel inception distance: unbiased MMD² with the cubic polynomial kernel (Bińkowski et al. 2018). */
  kid: { mean: number; std: number };
  /** k-NN precision and recall (Kynkäänniemi et al. 2019, k = 3). */
  precision: number;
  recall: number;
}

/** FID, KID and precision/recall of `fake` against `real` features; KID's subsets are drawn from `seed`. */
export async function imageMetrics(real: FeatureMatrix, fake: FeatureMatrix, seed: number): Promise<ImageMetrics> {
  const { fid } = frechetDistanceFromFeatures(real, fake);
  const subsetSize = Math.min(1000, real.rows, fake.rows);
  const kid = await kernelInceptionDistance(real, fake, new RandomGenerator(seed), { subsets: 100, subsetSize });
  const { precision, recall } = await precisionRecall(real, fake, { k: Math.min(3, real.rows - 1, fake.rows - 1) });
  return { fid, kid, precision, recall };
}

/** Inception score exp(E KL(p(y|x) ‖ p(y))) (Salimans et al. 2016) of classifier logits, in up to 10 splits. */
export function classifierScore(logits: FeatureMatrix): { mean: number; std: number } {
  const { mean, std } = inceptionScore(logits, { splits: Math.min(10, logits.rows) });
  return { mean, std };
}
