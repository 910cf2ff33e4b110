import { InvalidArgumentError, ShapeError, ValueRangeError, describeValue } from '@nextdetail/core';
import type { FeatureStatistics } from './featureStatistics.js';
import { traceSqrtProduct } from './linalg/traceSqrtProduct.js';

export interface FrechetOptions {
  /**
   * Added to both covariances' diagonals when the first attempt is not finite, as pytorch-fid/TTUR/ADM do
   * ("fid calculation produces singular product; adding 1e-6 to diagonal of cov estimates"). Default 1e-6.
   */
  eps?: number;
  /** Receives the reference tools' warnings (the singular-product retry); default: console.warn. */
  onWarning?: (message: string) => void;
}

/** The terms of the Fréchet distance, for reports and debugging. */
export interface FrechetTerms {
  /** The distance, clamped at 0 (round-off makes FID(A, A) ≈ −1e-13). */
  fid: number;
  /** ‖μ1 − μ2‖². */
  meanTerm: number;
  traceSigma1: number;
  traceSigma2: number;
  /** Tr sqrtm(Σ1·Σ2). */
  traceSqrt: number;
}

// A negative eigenvalue of the symmetric similar matrix is the analogue of scipy's complex sqrtm: the references
// reject |imag| above 1e-3 and silently drop smaller parts.
const IMAGINARY_TOLERANCE = 1e-3;

/**
 * The Fréchet distance between Gaussians: ‖μ1−μ2‖² + Tr Σ1 + Tr Σ2 − 2·Tr sqrtm(Σ1Σ2) (Heusel et al. 2017, eq. 6;
 * mseitzer/pytorch-fid:src/pytorch_fid/fid_score.py calculate_frechet_distance). The trace of the square root uses
 * the symmetric similarity of reference-digest §7.3 in float64, which agrees with scipy's Schur sqrtm to round-off and
 * takes seconds at d = 2048. Inputs are not modified.
 */
export function frechetDistance(a: FeatureStatistics, b: FeatureStatistics, options: FrechetOptions = {}): number {
  return frechetTerms(a, b, options).fid;
}

export function frechetTerms(a: FeatureStatistics, b: FeatureStatistics, options: FrechetOptions = {}): FrechetTerms {
  const d = checkStatistics(a, 'a');
  const d2 = checkStatistics(b, 'b');
  if (d2 !== d) throw new ShapeError('b.mu', `length ${d} (the dimension of a)`, `length ${d2}`);
  const eps = options.eps ?? 1e-6;
  const warn = options.onWarning ?? ((message: string) => console.warn(message));

  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mu[i]! - b.mu[i]!) ** 2;
  let traceSigma1 = 0;
  let traceSigma2 = 0;
  for (let i = 0; i < d; i++) {
    traceSigma1 += a.sigma[i * d + i]!;
    traceSigma2 += b.sigma[i * d + i]!;
  }

  let result = traceSqrtProduct(a.sigma, b.sigma, d);
  if (!Number.isFinite(result.trace)) {
    warn(`fid calculation produces singular product; adding ${eps} to diagonal of cov estimates`);
    const s1 = Float64Array.from(a.sigma);
    const s2 = Float64Array.from(b.sigma);
    for (let i = 0; i < d; i++) {
      s1[i * d + i]! += eps;
      s2[i * d + i]! += eps;
    }
    result = traceSqrtProduct(s1, s2, d);
  }
  if (result.minEigenvalue < 0 && Math.sqrt(-result.minEigenvalue) > IMAGINARY_TOLERANCE) {
    throw new ValueRangeError(
      'sigma',
      'positive semidefinite covariances (Σ1Σ2 with a real square root)',
      `an eigenvalue ${result.minEigenvalue} of Σ1Σ2 (imaginary component ${Math.sqrt(-result.minEigenvalue)})`,
    );
  }
  const fid = meanTerm + traceSigma1 + traceSigma2 - 2 * result.trace;
  return { fid: Math.max(fid, 0), meanTerm, traceSigma1, traceSigma2, traceSqrt: result.trace };
}

function checkStatistics(s: FeatureStatistics, argument: string): number {
  if (typeof s !== 'object' || s === null) throw new InvalidArgumentError(argument, 'statistics {mu, sigma}', describeValue(s));
  if (!(s.mu instanceof Float64Array) || s.mu.length < 1) {
    throw new InvalidArgumentError(`${argument}.mu`, 'a non-empty Float64Array', describeValue(s.mu));
  }
  const d = s.mu.length;
  if (!(s.sigma instanceof Float64Array) || s.sigma.length !== d * d) {
    throw new ShapeError(`${argument}.sigma`, `a Float64Array of ${d}×${d} = ${d * d} values`, describeValue(s.sigma) + (s.sigma instanceof Float64Array ? ` of length ${s.sigma.length}` : ''));
  }
  for (const [name, values] of [['mu', s.mu], ['sigma', s.sigma]] as const) {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) throw new ValueRangeError(`${argument}.${name}`, 'finite values', `${values[i]} at index ${i}`);
    }
  }
  return d;
}
