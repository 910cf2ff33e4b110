import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, type TensorSource } from '@nextdetail/core';
import { MultiScaleResidualQuantizer, type MultiScaleResidualQuantizerConfig } from './quantizer/multiScaleResidual.js';
import type { PatchNums } from './quantizer/patchNums.js';
import type { TokenPlan, Tokenizer } from './tokenizer.js';
import { VarVqvae } from './vqvae/varVqvae.js';
import { type ResolvedVarVqvaeConfig, type VarVqvaeConfig, varVqvaeConfigFromReference } from './vqvae/varVqvaeConfig.js';

export interface VarTokenizerConfig {
  vae: VarVqvaeConfig;
  quantizer: Omit<MultiScaleResidualQuantizerConfig, 'prefix'>;
}

/** The two configs from the reference's `VQVAE(...)` keyword arguments (vocab_size, z_channels, ch, v_patch_nums, …). */
export function varTokenizerConfigFromReference(kwargs: Readonly<Record<string, unknown>>): VarTokenizerConfig {
  const vae: ResolvedVarVqvaeConfig = varVqvaeConfigFromReference(kwargs);
  const patchNums = kwargs.v_patch_nums;
  if (!Array.isArray(patchNums)) {
    throw new InvalidArgumentError('kwargs.v_patch_nums', 'an array of patch sizes', JSON.stringify(patchNums));
  }
  return {
    vae,
    quantizer: {
      vocabSize: vae.vocabSize,
      cvae: vae.zChannels,
      patchNums: patchNums as PatchNums,
      // VQVAE's own defaults where the arguments leave them out.
      quantResi: (kwargs.quant_resi as number | undefined) ?? 0.5,
      shareQuantResi: (kwargs.share_quant_resi as number | undefined) ?? 4,
    },
  };
}

/**
 * VAR's tokenizer: the VQVAE CNN and the multi-scale residual quantizer behind the shared Tokenizer interface. One
 * state dict holds both (`vae_ch160v4096z32.pth`).
 */
// FoundationVision/VAR@78b9539:models/vqvae.py VQVAE.img_to_idxBl, idxBl_to_img, quantize.idxBl_to_var_input
export class VarTokenizer implements Tokenizer {
  private constructor(
    readonly vae: VarVqvae,
    readonly quantizer: MultiScaleResidualQuantizer,
  ) {}

  static async fromStateDict(source: TensorSource, config: VarTokenizerConfig): Promise<VarTokenizer> {
    const vae = await VarVqvae.fromStateDict(source, config.vae);
    try {
      return new VarTokenizer(vae, await MultiScaleResidualQuantizer.fromStateDict(source, config.quantizer));
    } catch (err) {
      vae.dispose();
      throw err;
    }
  }

  encode(images_BHWC: tf.Tensor4D): TokenPlan {
    const f_BHWC = this.vae.encode(images_BHWC);
    try {
      const { idx_Bl } = this.quantizer.encode(f_BHWC);
      const sizes = this.quantizer.patchNums;
      return { steps: idx_Bl.map((idx, si) => ({ kind: 'scale' as const, size: [...sizes[si]!] as [number, number], idx_Bl: idx })) };
    } finally {
      f_BHWC.dispose();
    }
  }

  decode(plan: TokenPlan): tf.Tensor4D {
    return tf.tidy(() => this.vae.fhatToImage(this.quantizer.idxToFhat(plan.steps.map((s) => s.idx_Bl))));
  }

  teacherForcing(plan: TokenPlan): tf.Tensor3D {
    return this.quantizer.teacherForcingInput(plan.steps.map((s) => s.idx_Bl));
  }

  dispose(): void {
    this.vae.dispose();
    this.quantizer.dispose();
  }
}
