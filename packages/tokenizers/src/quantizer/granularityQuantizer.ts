import * as tf from '@tensorflow/tfjs-core';
import {
  checkTensor,
  describeShape,
  describeValue,
  InvalidArgumentError,
  loadStateDict,
  type ParameterSpec,
  ShapeError,
  type TensorSource,
  ValueRangeError,
} from '@nextdetail/core';
import { granularityClustering } from './granularityClustering.js';
import { nearestCode } from './nearestCode.js';
import { Phi, phiModuleName } from './phi.js';

const CODEBOOK = 'quantize.embedding.weight';

// Type alias rather than an interface, so that tf.dispose(result) accepts it as a tensor container.
export type GranularityEncoding = {
  /** The structure map: label of every position at every stage, int32 [B, S, P]. */
  labels_BSP: tf.Tensor3D;
  /** The token of every position at every stage (its cluster's token), int32 [B, S, P]. */
  tokens_BSP: tf.Tensor3D;
  /** The final f̂ = Σ_s Phi_s(E[tokens_s]), [B, H, W, C]. */
  fhat_BHWC: tf.Tensor4D;
};

/**
 * NVG's multi-granularity quantizer on NHWC latents with P = H·W positions (row-major) and S stages, stage s having
 * 2^s clusters. Each stage quantises the mean residual of every cluster to one token, spreads its code over the
 * cluster's positions, refines it with that stage's Phi (h + 0.5·conv3×3(h), one unshared convolution per stage) and
 * subtracts it from the residual.
 *
 * The caller owns every returned tensor; `dispose()` frees the parameters. Token ids outside [0, V) are not checked
 * (that would need a read-back).
 */
// NVG paper §3.1 and App. A.2 (content construction); reference digest §3.2 "Residual content tokens"
export class GranularityQuantizer {
  readonly vocabSize: number;
  readonly cvae: number;
  /** S, the number of stages (one Phi each); clustering needs P = 2^(S − 1) positions. */
  readonly stages: number;

  private constructor(
    /** The codebook [V, C]; owned by the quantizer. */
    readonly embedding_VC: tf.Tensor2D,
    private readonly phis: readonly Phi[],
  ) {
    [this.vocabSize, this.cvae] = embedding_VC.shape;
    this.stages = phis.length;
  }

  /**
   * Reads `quantize.embedding.weight` [V, C] and the stage convolutions `quantize.quant_resi.{s}.{weight, bias}`
   * (s = 0, 1, … while present; at least two) from a checkpoint; sizes come from the checkpoint's shapes.
   */
  static async fromStateDict(
    source: TensorSource,
    { prefix = '' }: { prefix?: string } = {},
  ): Promise<GranularityQuantizer> {
    if (typeof prefix !== 'string') throw new InvalidArgumentError('prefix', 'a string', describeValue(prefix));
    const keys = new Set(source.keys());
    if (!keys.has(prefix + CODEBOOK)) {
      throw new InvalidArgumentError('checkpoint', 'every parameter the model needs', `no ${prefix + CODEBOOK}`);
    }
    const codebookShape = source.info(prefix + CODEBOOK).shape;
    if (codebookShape.length !== 2 || codebookShape.some((d) => d < 1)) {
      throw new ShapeError(prefix + CODEBOOK, 'shape [V, C]', `shape ${describeShape(codebookShape)} in the checkpoint`);
    }
    const c = codebookShape[1]!;
    const modules: string[] = [];
    while (keys.has(`${prefix}quantize.${phiModuleName(0, modules.length)}.weight`)) {
      modules.push(`quantize.${phiModuleName(0, modules.length)}`);
    }
    if (modules.length < 2) {
      throw new InvalidArgumentError(
        'checkpoint',
        `one Phi convolution per stage, ${prefix}quantize.quant_resi.{0, 1, …}.weight (at least two stages)`,
        `${modules.length} stage(s)`,
      );
    }
    const spec: Record<string, ParameterSpec> = { [CODEBOOK]: { shape: codebookShape } };
    for (const m of modules) {
      spec[`${m}.weight`] = { shape: [c, c, 3, 3], transform: 'conv2d' };
      spec[`${m}.bias`] = { shape: [c] };
    }
    const { tensors } = await loadStateDict(source, spec, { prefix });
    // NVG's Phi_s(h) = h + 0.5·conv_s(h) (digest §3.2).
    const phis = modules.map(
      (m) => new Phi({ weight_33CC: tensors.get(`${m}.weight`) as tf.Tensor4D, bias_C: tensors.get(`${m}.bias`) as tf.Tensor1D }, 0.5, 1),
    );
    return new GranularityQuantizer(tensors.get(CODEBOOK) as tf.Tensor2D, phis);
  }

  /** The structure map of `f_BHWC` [B, H, W, C] by greedy equal-size clustering, int32 [B, S, P]. */
  async cluster(f_BHWC: tf.Tensor4D): Promise<tf.Tensor3D> {
    this.checkLatent(f_BHWC, 'f_BHWC', true);
    return granularityClustering(f_BHWC);
  }

  /**
   * Tokens of every stage for the latent `f_BHWC` [B, H, W, C], with the structure map from `cluster` or, given
   * `labels_BSP` (int32 [B, S, P]; stage-s labels in [0, 2^s), each the parent of the next stage's label ⌊l/2⌋), that
   * one. User-supplied maps need not split clusters evenly or use every label.
   */
  async encode(f_BHWC: tf.Tensor4D, { labels_BSP }: { labels_BSP?: tf.Tensor3D } = {}): Promise<GranularityEncoding> {
    this.checkLatent(f_BHWC, 'f_BHWC', labels_BSP === undefined);
    const [b, h, w, c] = f_BHWC.shape;
    let labels: tf.Tensor3D;
    if (labels_BSP === undefined) {
      labels = await this.cluster(f_BHWC);
    } else {
      await this.checkLabels(labels_BSP, 'labels_BSP', b, h * w);
      labels = tf.clone(labels_BSP);
    }
    const [tokens_BSP, fhat_BHWC] = tf.tidy(() => {
      // Slices, a [B, K, P] membership and last-axis sums: WebGPU's transpose kernel (which tf.transpose, matMul's
      // transposeA and reductions over inner axes use) fails to compile for some of these shapes and returns zeros.
      const labels_SBP = (tf.split(labels, this.stages, 1) as tf.Tensor3D[]).map((l) => tf.reshape(l, [b, h * w]) as tf.Tensor2D);
      let rest_BHWC: tf.Tensor4D = f_BHWC;
      let fhat: tf.Tensor4D = tf.zerosLike(f_BHWC);
      const tokens_SBP = labels_SBP.map((label_BP, s) => {
        const clusters = 2 ** s;
        const clusterIds_1K1 = tf.reshape(tf.range(0, clusters, 1, 'int32'), [1, clusters, 1]);
        const member_BKP = tf.cast(tf.equal(tf.expandDims(label_BP, 1), clusterIds_1K1), 'float32') as tf.Tensor3D;
        const rest_BPC = tf.reshape(rest_BHWC, [b, h * w, c]) as tf.Tensor3D;
        const mean_BKC = tf.div(tf.matMul(member_BKP, rest_BPC), tf.sum(member_BKP, 2, true));
        const clusterToken_N = nearestCode(tf.reshape(mean_BKC, [b * clusters, c]) as tf.Tensor2D, this.embedding_VC);
        const offset_B1 = tf.reshape(tf.range(0, b * clusters, clusters, 'int32'), [b, 1]);
        const token_BP = tf.gather(clusterToken_N as tf.Tensor, tf.add(label_BP, offset_B1)) as tf.Tensor2D;
        const h_BHWC = this.stageEmbedding(token_BP, s, [h, w]);
        fhat = tf.add(fhat, h_BHWC);
        rest_BHWC = tf.sub(rest_BHWC, h_BHWC);
        return token_BP;
      });
      return [tf.stack(tokens_SBP, 1) as tf.Tensor3D, fhat];
    });
    return { labels_BSP: labels, tokens_BSP, fhat_BHWC };
  }

  /** f̂ = Σ_s Phi_s(E[tokens_s]) of tokens int32 [B, S, P] on a latent of `latentSize` (default square), [B, H, W, C]. */
  tokensToFhat(tokens_BSP: tf.Tensor3D, latentSize?: readonly [number, number]): tf.Tensor4D {
    const size = this.checkTokens(tokens_BSP, 'tokens_BSP', latentSize);
    // Stage by stage, as encode accumulates f̂ (tf.addN of nine inputs returns zeros on WebGPU).
    return tf.tidy(() => this.stageEmbeddings(tokens_BSP, size).reduce((fhat, h) => tf.add(fhat, h)));
  }

  /**
   * The generator's training input float32 [B, S, P, C + 2]: at stage s, the canvas before it (Σ_{t<s} Phi_t(E[tokens_t]),
   * zeros at stage 0) position-major, then the token id and the label of every position.
   */
  // Reference digest §3.2: "the stored training tensor is (B, 9, 256, C+2)"
  trainingInput(tokens_BSP: tf.Tensor3D, labels_BSP: tf.Tensor3D, latentSize?: readonly [number, number]): tf.Tensor4D {
    const size = this.checkTokens(tokens_BSP, 'tokens_BSP', latentSize);
    checkTensor(labels_BSP, 'labels_BSP', { rank: 3, dtype: 'int32' });
    if (labels_BSP.shape.some((d, i) => d !== tokens_BSP.shape[i])) {
      throw new ShapeError('labels_BSP', `the shape of tokens_BSP, ${describeShape(tokens_BSP.shape)}`, describeShape(labels_BSP.shape));
    }
    const [b, , p] = tokens_BSP.shape;
    return tf.tidy(() => {
      const canvases_BPC: tf.Tensor3D[] = [tf.zeros([b, p, this.cvae])];
      for (const h_BHWC of this.stageEmbeddings(tokens_BSP, size).slice(0, -1)) {
        canvases_BPC.push(tf.add(canvases_BPC[canvases_BPC.length - 1]!, tf.reshape(h_BHWC, [b, p, this.cvae])));
      }
      return tf.concat(
        [tf.stack(canvases_BPC, 1), tf.expandDims(tf.cast(tokens_BSP, 'float32'), 3), tf.expandDims(tf.cast(labels_BSP, 'float32'), 3)],
        3,
      ) as tf.Tensor4D;
    });
  }

  dispose(): void {
    this.embedding_VC.dispose();
    for (const phi of this.phis) phi.dispose();
  }

  /** Phi_s(E[tokens]) for every stage, [B, H, W, C] each. */
  private stageEmbeddings(tokens_BSP: tf.Tensor3D, size: readonly [number, number]): tf.Tensor4D[] {
    return (tf.unstack(tokens_BSP, 1) as tf.Tensor2D[]).map((token_BP, s) => this.stageEmbedding(token_BP, s, size));
  }

  private stageEmbedding(token_BP: tf.Tensor2D, stage: number, [h, w]: readonly [number, number]): tf.Tensor4D {
    const code_BHWC = tf.reshape(tf.gather(this.embedding_VC, token_BP), [token_BP.shape[0], h, w, this.cvae]) as tf.Tensor4D;
    return this.phis[stage]!.apply(code_BHWC);
  }

  private checkLatent(f_BHWC: tf.Tensor4D, argument: string, forClustering: boolean): void {
    checkTensor(f_BHWC, argument, { rank: 4, dtype: 'float32' });
    const [b, h, w, c] = f_BHWC.shape;
    const positions = 2 ** (this.stages - 1);
    if (b < 1 || h < 1 || w < 1 || c !== this.cvae || (forClustering && h * w !== positions)) {
      const grid = forClustering ? `H·W = 2^(S − 1) = ${positions}` : 'H, W ≥ 1';
      throw new ShapeError(argument, `[B ≥ 1, H, W, ${this.cvae}] (NHWC) with ${grid}`, describeShape(f_BHWC.shape));
    }
  }

  /** Shape, dtype, per-stage range and parent consistency of a structure map; reads it back once. */
  private async checkLabels(labels_BSP: tf.Tensor3D, argument: string, b: number, p: number): Promise<void> {
    checkTensor(labels_BSP, argument, { rank: 3, dtype: 'int32' });
    const expected = [b, this.stages, p];
    if (labels_BSP.shape.some((d, i) => d !== expected[i])) {
      throw new ShapeError(argument, `${describeShape(expected)} (B, S, H·W of the latent)`, describeShape(labels_BSP.shape));
    }
    const labels = await labels_BSP.data();
    for (let n = 0; n < b; n++)
      for (let s = 0; s < this.stages; s++)
        for (let q = 0; q < p; q++) {
          const label = labels[(n * this.stages + s) * p + q]!;
          const parent = s === 0 ? 0 : labels[(n * this.stages + s - 1) * p + q]!;
          if (label < 0 || label >= 2 ** s || Math.floor(label / 2) !== parent) {
            throw new ValueRangeError(
              argument,
              `stage-${s} labels in [0, ${2 ** s}) whose parent ⌊label/2⌋ is the stage-${s - 1} label`,
              `${label} at batch ${n}, stage ${s}, position ${q} (stage-${s - 1} label ${parent})`,
            );
          }
        }
  }

  /** Checks tokens int32 [B, S, P] and returns the latent size, square by default. */
  private checkTokens(tokens_BSP: tf.Tensor3D, argument: string, latentSize?: readonly [number, number]): [number, number] {
    checkTensor(tokens_BSP, argument, { rank: 3, dtype: 'int32' });
    const [b, s, p] = tokens_BSP.shape;
    if (b < 1 || s !== this.stages) {
      throw new ShapeError(argument, `[B ≥ 1, ${this.stages}, P] (one row per stage)`, describeShape(tokens_BSP.shape));
    }
    const side = Math.round(Math.sqrt(p));
    const [h, w] = latentSize ?? [side, side];
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1 || h * w !== p) {
      const actual = latentSize ? JSON.stringify(latentSize) : `none, and P = ${p} is not a square`;
      throw new InvalidArgumentError('latentSize', `[H, W] with H·W = ${p} (the positions of ${argument})`, actual);
    }
    return [h, w];
  }
}
