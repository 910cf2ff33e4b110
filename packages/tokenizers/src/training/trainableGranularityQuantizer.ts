import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, type RandomGenerator } from '@nextdetail/core';
import { nearestCode } from '../quantizer/nearestCode.js';
import { Phi, phiModuleName } from '../quantizer/phi.js';
import { initParameters } from '../vqvae/parameterInit.js';
import type { StateDictEntry } from './checkpoint.js';
import { codebookAndPhiEntries, codebookAndPhiVariables } from './codebookAndPhi.js';
import { codebookLookup } from '../kernels/codebookLookup/register.js';
import { detach, straightThrough } from './detach.js';
import { mse } from './losses.js';
import type { QuantizerForward } from './trainableMultiScaleQuantizer.js';

export interface TrainableGranularityQuantizerConfig {
  vocabSize: number;
  cvae: number;
  /** S = log2(H·W) + 1: one Phi per stage. */
  stages: number;
  /** Weight of the codebook term MSE(f̂, f.detach) (default 1, NVG's). */
  codebookWeight?: number;
  /** Weight of the commitment term MSE(f̂.detach, f) (default 1, NVG's). */
  commitWeight?: number;
}

/**
 * NVG's granularity quantizer in training form: the codebook and the per-stage Phi convolutions (h + 0.5·conv(h)) as
 * tf.Variables, the residual content loop of GranularityQuantizer.encode on a given structure map with gradients to
 * the codebook and the Phis, the codebook + commitment loss averaged over stages and the straight-through f̂. Hard
 * assignments throughout (the paper's early soft assignments are not reproduced).
 */
// NVG paper §3.1 and App. A.2; reference digest §3.2 ("Residual content tokens", loss weights codebook/commit 1.0)
export class TrainableGranularityQuantizer {
  /** A fresh quantizer: codebook U(−1/V, 1/V), Phi convs with PyTorch's default init, drawn from `rng`. */
  static create(config: TrainableGranularityQuantizerConfig, rng: RandomGenerator): TrainableGranularityQuantizer {
    const { vocabSize, cvae, stages, codebookWeight = 1, commitWeight = 1 } = config;
    checkNumber(vocabSize, 'config.vocabSize', { integer: true, min: 1 });
    checkNumber(cvae, 'config.cvae', { integer: true, min: 1 });
    checkNumber(stages, 'config.stages', { integer: true, min: 2 });
    checkNumber(codebookWeight, 'config.codebookWeight', { min: 0 });
    checkNumber(commitWeight, 'config.commitWeight', { min: 0 });
    const raw = rng.uniform([vocabSize, cvae], -1 / vocabSize, 1 / vocabSize);
    const embedding_VC = tf.variable(raw, true) as tf.Variable<tf.Rank.R2>;
    raw.dispose();
    const names = Array.from({ length: stages }, (_, s) => `quantize.${phiModuleName(0, s)}`);
    const spec = Object.fromEntries(
      names.flatMap((m) => [
        [`${m}.weight`, { shape: [cvae, cvae, 3, 3], transform: 'conv2d' as const }],
        [`${m}.bias`, { shape: [cvae] }],
      ]),
    );
    return new TrainableGranularityQuantizer(embedding_VC, names, initParameters(spec, rng), codebookWeight, commitWeight);
  }

  readonly vocabSize: number;
  readonly cvae: number;
  readonly stages: number;
  private readonly phis: Phi[];

  private constructor(
    readonly embedding_VC: tf.Variable<tf.Rank.R2>,
    private readonly phiNames: string[],
    private readonly phiParams: Map<string, tf.Variable>,
    readonly codebookWeight: number,
    readonly commitWeight: number,
  ) {
    [this.vocabSize, this.cvae] = embedding_VC.shape;
    this.stages = phiNames.length;
    this.phis = phiNames.map(
      (m) => new Phi({ weight_33CC: phiParams.get(`${m}.weight`) as tf.Tensor4D, bias_C: phiParams.get(`${m}.bias`) as tf.Tensor1D }, 0.5, 1),
    );
  }

  /**
   * One training pass on `f_BHWC` with the structure map `labels_BSP` (int32 [B, S, H·W], e.g. granularityClustering
   * of the detached latent): stage s quantises each cluster's mean residual and spreads its code over the cluster.
   * The ids are the cluster tokens of every stage, int32 [B, 2^s].
   */
  forward(f_BHWC: tf.Tensor4D, labels_BSP: tf.Tensor3D): QuantizerForward {
    return tf.tidy(() => {
      const [b, h, w, c] = f_BHWC.shape;
      const p = h * w;
      const fNoGrad_BHWC = detach(f_BHWC);
      let rest_BPC = tf.reshape(fNoGrad_BHWC, [b, p, c]) as tf.Tensor3D;
      let fhat_BHWC: tf.Tensor4D = tf.zerosLike(f_BHWC);
      const losses: tf.Scalar[] = [];
      const idx_Bl: tf.Tensor2D[] = [];
      const labels_SBP = (tf.split(labels_BSP, this.stages, 1) as tf.Tensor3D[]).map((l) => tf.reshape(l, [b, p]) as tf.Tensor2D);
      labels_SBP.forEach((label_BP, s) => {
        const clusters = 2 ** s;
        const member_BKP = tf.cast(tf.equal(tf.expandDims(label_BP, 1), tf.reshape(tf.range(0, clusters, 1, 'int32'), [1, clusters, 1])), 'float32');
        const mean_BKC = tf.div(tf.matMul(member_BKP as tf.Tensor3D, rest_BPC), tf.maximum(tf.sum(member_BKP, 2, true), 1));
        const token_N = nearestCode(tf.reshape(mean_BKC, [b * clusters, c]) as tf.Tensor2D, this.embedding_VC);
        idx_Bl.push(tf.reshape(token_N, [b, clusters]) as tf.Tensor2D);
        const code_NC = codebookLookup(this.embedding_VC, token_N);
        const offset_B1 = tf.reshape(tf.range(0, b * clusters, clusters, 'int32'), [b, 1]);
        const code_BHWC = tf.reshape(tf.gather(code_NC, tf.add(label_BP, offset_B1)), [b, h, w, c]) as tf.Tensor4D;
        const h_BHWC = this.phis[s]!.apply(code_BHWC);
        fhat_BHWC = tf.add(fhat_BHWC, h_BHWC);
        // The residual only chooses the next tokens, which carry no gradient.
        rest_BPC = tf.sub(rest_BPC, tf.reshape(detach(h_BHWC), [b, p, c]));
        losses.push(
          tf.add(tf.mul(mse(fhat_BHWC, fNoGrad_BHWC), this.codebookWeight), tf.mul(mse(detach(fhat_BHWC), f_BHWC), this.commitWeight)),
        );
      });
      const vqLoss = tf.div(tf.addN(losses), this.stages) as tf.Scalar;
      return { fhat_BHWC: straightThrough(f_BHWC, fhat_BHWC), vqLoss, idx_Bl };
    });
  }

  variables(): tf.Variable[] {
    return codebookAndPhiVariables({ embedding_VC: this.embedding_VC, phiNames: this.phiNames, phiParams: this.phiParams });
  }

  /** `quantize.embedding.weight` and `quantize.quant_resi.{s}.{weight, bias}`, which GranularityQuantizer loads. */
  stateDictEntries(): StateDictEntry[] {
    return codebookAndPhiEntries({ embedding_VC: this.embedding_VC, phiNames: this.phiNames, phiParams: this.phiParams });
  }

  dispose(): void {
    this.embedding_VC.dispose();
    for (const phi of this.phis) phi.dispose();
  }
}
