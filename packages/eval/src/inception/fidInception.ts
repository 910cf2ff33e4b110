import * as tf from '@tensorflow/tfjs-core';
import { NextDetailError, ShapeError, checkTensor, describeShape, type TensorSource } from '@nextdetail/core';
import { preprocessForInception, type PreprocessMode } from '../preprocess.js';
import { CONV_UNITS } from './architecture.js';
import { loadFidInceptionWeights, type FidInceptionWeights, type FoldedConv } from './loadFidInceptionWeights.js';

/** What one forward pass returns; the caller disposes every tensor. */
export interface FidInceptionOutputs {
  /** `pool_3`: the global average of Mixed_7c, [B, 2048] (FID, precision/recall, KID). */
  pool3: tf.Tensor2D;
  /** `mixed_6/conv` (Mixed_6d.branch1x1 after ReLU), first 7 channels, flattened NHWC: [B, 17·17·7 = 2023] (sFID). */
  spatial: tf.Tensor2D;
  /** pool3 · Wᵀ without the bias, [B, 1008]: what improved-gan and torch-fidelity take for IS. Null without fc. */
  logitsUnbiased: tf.Tensor2D | null;
  /** pool3 · Wᵀ + b, [B, 1008]. Null without fc. */
  logits: tf.Tensor2D | null;
}

const UNITS = new Map(CONV_UNITS.map((u) => [u.name, u]));

// The stage whose input (Mixed_6c's output) feeds mixed_6/conv.
const MIXED_6D_STAGE = 8;

/** Spatial (sFID) channels kept by ADM's evaluator. */
export const SPATIAL_CHANNELS = 7;

/**
 * The FID-Inception network (the 2015-12-05 TF graph as ported by pytorch-fid and torch-fidelity; reference-digest
 * §7.1) on tfjs, NHWC. Differences from torchvision's InceptionV3 that matter: 1008 classes, BN eps 0.001, average
 * pools that exclude the padding in Mixed_5b–5d, 6b–6e and 7b, a max pool in Mixed_7c.
 */
export class FidInception {
  private constructor(private readonly weights: FidInceptionWeights) {}

  /** Reads and folds the weights of either checkpoint naming (see loadFidInceptionWeights). */
  static async load(source: TensorSource): Promise<FidInception> {
    return new FidInception(await loadFidInceptionWeights(source));
  }

  /** The checkpoint naming the weights came from. */
  get layout(): FidInceptionWeights['layout'] {
    return this.weights.layout;
  }

  get hasClassifier(): boolean {
    return this.weights.fc !== null;
  }

  /**
   * Runs the network on already-preprocessed input x_BHWC [B, 299, 299, 3] (see preprocessForInception). Smaller
   * inputs run too (down to 75×75) but only 299×299 is the reference protocol. Asynchronous: the stages run one at a
   * time with a yield to the event loop between them, since the full network on the CPU backend takes seconds.
   */
  async forward(x_BHWC: tf.Tensor4D): Promise<FidInceptionOutputs> {
    checkTensor(x_BHWC, 'x', { rank: 4, dtype: 'float32' });
    const [, h, w, c] = x_BHWC.shape;
    if (c !== 3 || h < 75 || w < 75) throw new ShapeError('x', 'images [B, H ≥ 75, W ≥ 75, 3] (299×299 for the reference protocol)', `shape ${describeShape(x_BHWC.shape)}`);
    const stages: Array<(x: tf.Tensor4D) => tf.Tensor4D> = [
      (x) => tf.maxPool(this.conv('Conv2d_2b_3x3', this.conv('Conv2d_2a_3x3', this.conv('Conv2d_1a_3x3', x))), 3, 2, 'valid'),
      (x) => tf.maxPool(this.conv('Conv2d_4a_3x3', this.conv('Conv2d_3b_1x1', x)), 3, 2, 'valid'),
      (x) => this.inceptionA('Mixed_5b', x),
      (x) => this.inceptionA('Mixed_5c', x),
      (x) => this.inceptionA('Mixed_5d', x),
      (x) => this.inceptionB('Mixed_6a', x),
      (x) => this.inceptionC('Mixed_6b', x),
      (x) => this.inceptionC('Mixed_6c', x),
      (x) => this.inceptionC('Mixed_6d', x),
      (x) => this.inceptionC('Mixed_6e', x),
      (x) => this.inceptionD('Mixed_7a', x),
      (x) => this.inceptionE('Mixed_7b', x, 'avg'),
      (x) => this.inceptionE('Mixed_7c', x, 'max'),
    ];
    let x = x_BHWC;
    let spatial: tf.Tensor2D | null = null;
    try {
      for (const [index, stage] of stages.entries()) {
        if (index === MIXED_6D_STAGE) spatial = tf.tidy(() => this.spatialFeatures(x));
        const next = tf.tidy(() => stage(x));
        if (x !== x_BHWC) x.dispose();
        x = next;
        await yieldToEventLoop();
      }
      const last = x;
      const outputs = tf.tidy(() => {
        const pool3 = tf.mean(last, [1, 2]) as tf.Tensor2D;
        const fc = this.weights.fc;
        if (!fc) return [pool3];
        const logitsUnbiased = tf.matMul(pool3, fc.weight) as tf.Tensor2D;
        return [pool3, logitsUnbiased, tf.add(logitsUnbiased, fc.bias) as tf.Tensor2D];
      });
      const [pool3, logitsUnbiased = null, logits = null] = outputs as tf.Tensor2D[];
      return { pool3: pool3!, spatial: spatial!, logitsUnbiased, logits };
    } catch (err) {
      spatial?.dispose();
      throw err;
    } finally {
      if (x !== x_BHWC) x.dispose();
    }
  }

  /** preprocessForInception then forward: images_BHWC are RGB [B, H, W, 3] in [0, 255]. */
  async features(images_BHWC: tf.Tensor4D, preprocess: PreprocessMode = 'tf1'): Promise<FidInceptionOutputs> {
    const x = preprocessForInception(images_BHWC, preprocess);
    try {
      return await this.forward(x);
    } finally {
      x.dispose();
    }
  }

  // mixed_6/conv: the input of Mixed_6d through its 1×1 branch (recomputed there; one 1×1 conv is cheap).
  private spatialFeatures(mixed6c: tf.Tensor4D): tf.Tensor2D {
    const f = this.conv('Mixed_6d.branch1x1', mixed6c);
    const [b, h, w] = f.shape;
    return tf.reshape(tf.slice(f, [0, 0, 0, 0], [b, h, w, SPATIAL_CHANNELS]), [b, h * w * SPATIAL_CHANNELS]) as tf.Tensor2D;
  }

  dispose(): void {
    for (const u of this.weights.units.values()) tf.dispose([u.kernel, u.bias]);
    if (this.weights.fc) tf.dispose([this.weights.fc.weight, this.weights.fc.bias]);
    this.weights.units.clear();
  }

  private unit(name: string): FoldedConv {
    const u = this.weights.units.get(name);
    if (!u) throw new NextDetailError('ERR_DISPOSED', 'FidInception: the model has been disposed');
    return u;
  }

  private conv(name: string, x: tf.Tensor4D): tf.Tensor4D {
    const u = this.unit(name);
    const spec = UNITS.get(name)!;
    return tf.fused.conv2d({ x, filter: u.kernel, strides: spec.stride, pad: spec.padding, bias: u.bias, activation: 'relu' });
  }

  // count_include_pad=False: the zero-padded 3×3 sum divided by the number of in-image pixels (reference-digest §7.1).
  private avgPoolExclusive(x: tf.Tensor4D): tf.Tensor4D {
    const [, h, w] = x.shape;
    const counts = new Float32Array(h * w);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) counts[i * w + j] = 9 / ((Math.min(i + 1, h - 1) - Math.max(i - 1, 0) + 1) * (Math.min(j + 1, w - 1) - Math.max(j - 1, 0) + 1));
    }
    const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    return tf.mul(tf.avgPool(padded, 3, 1, 'valid'), tf.tensor4d(counts, [1, h, w, 1]));
  }

  private inceptionA(name: string, x: tf.Tensor4D): tf.Tensor4D {
    const b1 = this.conv(`${name}.branch1x1`, x);
    const b5 = this.conv(`${name}.branch5x5_2`, this.conv(`${name}.branch5x5_1`, x));
    const b3 = this.conv(`${name}.branch3x3dbl_3`, this.conv(`${name}.branch3x3dbl_2`, this.conv(`${name}.branch3x3dbl_1`, x)));
    const bp = this.conv(`${name}.branch_pool`, this.avgPoolExclusive(x));
    return tf.concat([b1, b5, b3, bp], 3);
  }

  private inceptionB(name: string, x: tf.Tensor4D): tf.Tensor4D {
    const b3 = this.conv(`${name}.branch3x3`, x);
    const bd = this.conv(`${name}.branch3x3dbl_3`, this.conv(`${name}.branch3x3dbl_2`, this.conv(`${name}.branch3x3dbl_1`, x)));
    return tf.concat([b3, bd, tf.maxPool(x, 3, 2, 'valid')], 3);
  }

  private inceptionC(name: string, x: tf.Tensor4D): tf.Tensor4D {
    const b1 = this.conv(`${name}.branch1x1`, x);
    let b7 = this.conv(`${name}.branch7x7_1`, x);
    b7 = this.conv(`${name}.branch7x7_3`, this.conv(`${name}.branch7x7_2`, b7));
    let bd = this.conv(`${name}.branch7x7dbl_1`, x);
    for (const k of [2, 3, 4, 5]) bd = this.conv(`${name}.branch7x7dbl_${k}`, bd);
    const bp = this.conv(`${name}.branch_pool`, this.avgPoolExclusive(x));
    return tf.concat([b1, b7, bd, bp], 3);
  }

  private inceptionD(name: string, x: tf.Tensor4D): tf.Tensor4D {
    const b3 = this.conv(`${name}.branch3x3_2`, this.conv(`${name}.branch3x3_1`, x));
    let b7 = this.conv(`${name}.branch7x7x3_1`, x);
    b7 = this.conv(`${name}.branch7x7x3_3`, this.conv(`${name}.branch7x7x3_2`, b7));
    b7 = this.conv(`${name}.branch7x7x3_4`, b7);
    return tf.concat([b3, b7, tf.maxPool(x, 3, 2, 'valid')], 3);
  }

  private inceptionE(name: string, x: tf.Tensor4D, pool: 'avg' | 'max'): tf.Tensor4D {
    const b1 = this.conv(`${name}.branch1x1`, x);
    const t3 = this.conv(`${name}.branch3x3_1`, x);
    const b3 = tf.concat([this.conv(`${name}.branch3x3_2a`, t3), this.conv(`${name}.branch3x3_2b`, t3)], 3);
    const td = this.conv(`${name}.branch3x3dbl_2`, this.conv(`${name}.branch3x3dbl_1`, x));
    const bd = tf.concat([this.conv(`${name}.branch3x3dbl_3a`, td), this.conv(`${name}.branch3x3dbl_3b`, td)], 3);
    // Mixed_7c's pool is a max pool (pytorch-fid FIDInceptionE_2); its input is a ReLU output (≥ 0), so zero padding
    // never wins the max and equals PyTorch's −∞ padding.
    const pooled = pool === 'avg' ? this.avgPoolExclusive(x) : tf.maxPool(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 1, 'valid');
    const bp = this.conv(`${name}.branch_pool`, pooled);
    return tf.concat([b1, b3, bd, bp], 3);
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
