import * as tf from '@tensorflow/tfjs-core';
import { shiftFlat } from './kernels/weightedLaplacian/composite.js';
import { weightedLaplacian } from './kernels/weightedLaplacian/register.js';

/**
 * Forward differences with a Neumann boundary (reference-digest §8.2) on a batch of S single-channel H×W images
 * stored pixel-major as [P = H·W, S] ("fields"): the difference stored at pixel j is u[j+1] − u[j], and the last
 * column (Dx) or last row (Dy) stores 0.
 *
 * The layout is chosen for the tfjs CPU backend, whose binary ops are only fast for equal shapes or a rank-1 operand
 * that repeats along the last axis: per-system scalars are [S] tensors, masks are full [P, S] tensors, shifts are
 * contiguous 1-D slices, and per-system sums are a [1, P] × [P, S] matmul. Values that a shift carries across a row
 * boundary always meet a zero of the mask.
 */
export class PixelGrid {
  readonly height: number;
  readonly width: number;
  readonly systems: number;
  /** 1 where a pixel has a right / lower neighbour, else 0: [P, S]. */
  private readonly maskX: tf.Tensor;
  private readonly maskY: tf.Tensor;
  private readonly onesRow: tf.Tensor;

  constructor(height: number, width: number, systems: number) {
    this.height = height;
    this.width = width;
    this.systems = systems;
    const maskX = new Float32Array(height * width * systems);
    const maskY = new Float32Array(height * width * systems);
    for (let i = 0; i < height; i++)
      for (let j = 0; j < width; j++)
        for (let s = 0; s < systems; s++) {
          const k = (i * width + j) * systems + s;
          maskX[k] = j < width - 1 ? 1 : 0;
          maskY[k] = i < height - 1 ? 1 : 0;
        }
    this.maskX = tf.tensor2d(maskX, [height * width, systems]);
    this.maskY = tf.tensor2d(maskY, [height * width, systems]);
    this.onesRow = tf.ones([1, height * width]);
  }

  dispose(): void {
    tf.dispose([this.maskX, this.maskY, this.onesRow]);
  }

  /** Σ over pixels of each system: [P, S] → [S]. */
  sum(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.reshape(tf.matMul(this.onesRow, x), [this.systems]));
  }

  /** ⟨a, b⟩ per system: [S]. */
  dot(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.sum(tf.mul(a, b)));
  }

  /** One pixel to the right (x) or down (y), in flat elements. */
  private stride(axis: 'x' | 'y'): number {
    return axis === 'x' ? this.systems : this.width * this.systems;
  }

  private mask(axis: 'x' | 'y'): tf.Tensor {
    return axis === 'x' ? this.maskX : this.maskY;
  }

  /** D u along one axis. */
  diff(u: tf.Tensor, axis: 'x' | 'y'): tf.Tensor {
    return tf.tidy(() => tf.mul(tf.sub(shiftFlat(u, this.stride(axis)), u), this.mask(axis)));
  }

  /**
   * Link weights for `weightedLaplacian`: w on the links to the right (x) and below (y), zero where a pixel has no
   * such neighbour. Precompute them once per linear system.
   */
  linkWeights(w: tf.Tensor): { x: tf.Tensor; y: tf.Tensor } {
    return tf.tidy(() => ({ x: tf.mul(w, this.maskX), y: tf.mul(w, this.maskY) }));
  }

  /** diag(Dxᵀ W Dx + Dyᵀ W Dy): each pixel collects the weights of its links to the right, left, below and above. */
  weightedLaplacianDiagonal(links: { x: tf.Tensor; y: tf.Tensor }): tf.Tensor {
    return tf.tidy(() =>
      tf.addN([links.x, shiftFlat(links.x, -this.stride('x')), links.y, shiftFlat(links.y, -this.stride('y'))]),
    );
  }

  /** (Dxᵀ W Dx + Dyᵀ W Dy) u with the link weights of `linkWeights(w)`: the custom op of kernels/weightedLaplacian. */
  weightedLaplacian(u: tf.Tensor, links: { x: tf.Tensor; y: tf.Tensor }): tf.Tensor {
    return weightedLaplacian(u, links.x, links.y, this.stride('x'), this.stride('y'));
  }

  /** |Du|² = (Dx u)² + (Dy u)². */
  gradientMagnitudeSquared(u: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(tf.square(this.diff(u, 'x')), tf.square(this.diff(u, 'y'))));
  }
}

/** NHWC [B, H, W, C] → field [H·W, B·C]. */
export function toField(x: tf.Tensor4D): tf.Tensor {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => tf.reshape(b === 1 ? x : tf.transpose(x, [1, 2, 0, 3]), [h * w, b * c]));
}

/** Field [H·W, B·C] → NHWC [B, H, W, C]. */
export function fromField(x: tf.Tensor, shape: readonly [number, number, number, number]): tf.Tensor4D {
  const [b, h, w, c] = shape;
  return tf.tidy(() => {
    const hwbc = tf.reshape(x, [h, w, b, c]);
    return (b === 1 ? tf.reshape(hwbc, [1, h, w, c]) : tf.transpose(hwbc, [2, 0, 1, 3])) as tf.Tensor4D;
  });
}
