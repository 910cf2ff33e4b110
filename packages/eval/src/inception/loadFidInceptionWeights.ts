import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, describeShape, describeValue, type TensorSource } from '@nextdetail/core';
import { CONV_UNITS, NUM_CLASSES, POOL3_DIM, pytorchFidName } from './architecture.js';

/** One conv unit with its BatchNorm folded in: y = relu(conv(x, kernel) + bias). */
export interface FoldedConv {
  /** HWIO, scaled by γ/√(var + eps) per output channel. */
  kernel: tf.Tensor4D;
  /** β − mean·γ/√(var + eps). */
  bias: tf.Tensor1D;
}

export interface FidInceptionWeights {
  units: Map<string, FoldedConv>;
  /** The 1008-way head as [2048, 1008] (x·W) and its bias; absent in pytorch-fid's module layout. */
  fc: { weight: tf.Tensor2D; bias: tf.Tensor1D } | null;
  /** Which naming the checkpoint used. */
  layout: 'torchvision' | 'pytorch-fid';
}

// reference-digest §7.1: the TF graph's batch norms, as the PyTorch ports set them.
const BN_EPS = 0.001;

async function read(source: TensorSource, name: string, shape: readonly number[]): Promise<Float32Array> {
  const info = source.info(name);
  if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(name, `shape ${describeShape(shape)}`, `shape ${describeShape(info.shape)} in the checkpoint`);
  }
  const t = await source.tensor(name);
  try {
    return Float32Array.from(await t.data());
  } finally {
    t.dispose();
  }
}

/**
 * Reads the FID-Inception weights from a checkpoint in either naming: torchvision's (`Conv2d_1a_3x3.conv.weight` …
 * `fc.bias`: pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` and torch-fidelity's
 * `weights-inception-2015-12-05-6726825d.pth`, layout shared/fixtures/eval/torch_fidelity_inception_layout.txt) or
 * pytorch-fid's `InceptionV3` module (`blocks.0.0.conv.weight` …, no fc). Every shape is checked; BatchNorm is folded
 * into the convs in float64; `num_batches_tracked` is ignored. The caller owns the returned tensors.
 */
export async function loadFidInceptionWeights(source: TensorSource): Promise<FidInceptionWeights> {
  if (typeof source !== 'object' || source === null || typeof source.keys !== 'function') {
    throw new InvalidArgumentError('source', 'a checkpoint (TensorSource: safetensors file or .pth state dict)', describeValue(source));
  }
  const keys = new Set(source.keys());
  const layout = keys.has('Conv2d_1a_3x3.conv.weight') ? 'torchvision' : keys.has('blocks.0.0.conv.weight') ? 'pytorch-fid' : null;
  if (!layout) {
    throw new InvalidArgumentError('source', 'FID-Inception weights ("Conv2d_1a_3x3.conv.weight" or "blocks.0.0.conv.weight")', `keys ${[...keys].slice(0, 3).join(', ')}…`);
  }
  const prefixOf = (unitName: string) => (layout === 'torchvision' ? unitName : pytorchFidName(unitName));
  const missing = CONV_UNITS.flatMap((u) =>
    ['conv.weight', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var'].map((p) => `${prefixOf(u.name)}.${p}`).filter((k) => !keys.has(k)),
  );
  if (missing.length > 0) {
    throw new InvalidArgumentError('source', 'every FID-Inception parameter', `no ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? `, … (${missing.length} in all)` : ''}`);
  }

  const units = new Map<string, FoldedConv>();
  try {
    for (const u of CONV_UNITS) {
      const p = prefixOf(u.name);
      const [kh, kw] = u.kernel;
      const o = u.outChannels;
      const c = u.inChannels;
      const w = await read(source, `${p}.conv.weight`, [o, c, kh, kw]);
      const gamma = await read(source, `${p}.bn.weight`, [o]);
      const beta = await read(source, `${p}.bn.bias`, [o]);
      const mean = await read(source, `${p}.bn.running_mean`, [o]);
      const variance = await read(source, `${p}.bn.running_var`, [o]);
      const scale = Float64Array.from(gamma, (g, i) => g / Math.sqrt(variance[i]! + BN_EPS));
      const bias = Float32Array.from(beta, (b, i) => b - mean[i]! * scale[i]!);
      // OIHW → HWIO with the per-output scale applied in float64.
      const kernel = new Float32Array(kh * kw * c * o);
      for (let oi = 0; oi < o; oi++) {
        for (let ci = 0; ci < c; ci++) {
          for (let y = 0; y < kh; y++) {
            for (let x = 0; x < kw; x++) kernel[((y * kw + x) * c + ci) * o + oi] = w[((oi * c + ci) * kh + y) * kw + x]! * scale[oi]!;
          }
        }
      }
      units.set(u.name, { kernel: tf.tensor4d(kernel, [kh, kw, c, o]), bias: tf.tensor1d(bias) });
    }
    let fc: FidInceptionWeights['fc'] = null;
    if (keys.has('fc.weight')) {
      const w = await read(source, 'fc.weight', [NUM_CLASSES, POOL3_DIM]);
      const b = keys.has('fc.bias') ? await read(source, 'fc.bias', [NUM_CLASSES]) : new Float32Array(NUM_CLASSES);
      const weight = tf.tidy(() => tf.transpose(tf.tensor2d(w, [NUM_CLASSES, POOL3_DIM])) as tf.Tensor2D);
      fc = { weight, bias: tf.tensor1d(b) };
    }
    return { units, fc, layout };
  } catch (err) {
    for (const u of units.values()) tf.dispose([u.kernel, u.bias]);
    throw err;
  }
}
