import * as tf from '@tensorflow/tfjs-core';
import type { RandomGenerator, TensorSource } from '@nextdetail/core';
import { buildOwningWeights, loadAutoencoderWeights } from './autoencoderWeights.js';
import { VAR_BLOCK_STYLE } from './blockStyle.js';
import { Conv2d } from './conv2d.js';
import { ConvStack, type ConvStackPlan } from './convStack.js';
import { decoderPlan } from './decoder.js';
import { encoderPlan } from './encoder.js';
import { checkImage, checkLatent } from './inputChecks.js';
import { type AutoencoderLoadReport, emptyLoadReport } from './loadReport.js';
import { type AutoencoderLoadOptions, initParameters, variablesOf } from './parameterInit.js';
import type { LoadedParameters, ParameterSpecs } from './parameters.js';
import { ldmStackNames } from './stackNames.js';
import { resolveVarVqvaeConfig, type ResolvedVarVqvaeConfig, type VarVqvaeConfig } from './varVqvaeConfig.js';

/** VAR's `vae_ch160v4096z32.pth` is the state dict itself, with no container key. */
const CHECKPOINT_PREFIXES = [''];

function varEncoderPlan(c: ResolvedVarVqvaeConfig): ConvStackPlan {
  return encoderPlan(c, VAR_BLOCK_STYLE, ldmStackNames('encoder'));
}

function varDecoderPlan(c: ResolvedVarVqvaeConfig): ConvStackPlan {
  return decoderPlan(c, VAR_BLOCK_STYLE, ldmStackNames('decoder'));
}

/** The load report, with VAR's `quantize.*` tensors as `expectedUnused`. */
export type VarVqvaeLoadReport = AutoencoderLoadReport;

// FoundationVision/VAR@78b9539:models/vqvae.py VQVAE: encoder, quant_conv, post_quant_conv, decoder, fhat_to_img
// (the quantizer between quant_conv and post_quant_conv is a separate module). NHWC throughout.
export class VarVqvae {
  /** Every CNN parameter: its state-dict name, PyTorch shape and layout transform, for core's `loadStateDict`. */
  static stateDictSpec(config: VarVqvaeConfig): ParameterSpecs {
    const c = resolveVarVqvaeConfig(config);
    return {
      ...ConvStack.spec(varEncoderPlan(c)),
      ...Conv2d.spec('quant_conv', c.zChannels, c.zChannels, c.quantConvKs),
      ...Conv2d.spec('post_quant_conv', c.zChannels, c.zChannels, c.quantConvKs),
      ...ConvStack.spec(varDecoderPlan(c)),
    };
  }

  /**
   * Loads the CNN from a state dict with the reference names (a safetensors file, or the `.pth` as `torch.save`
   * wrote it). A tensor whose shape does not fit `config` is a ShapeError naming it; a missing one an
   * InvalidArgumentError. What else the checkpoint held is in `report`. With `trainable` the weights are tf.Variables.
   */
  static async fromStateDict(
    source: TensorSource,
    config: VarVqvaeConfig,
    { trainable = false }: AutoencoderLoadOptions = {},
  ): Promise<VarVqvae> {
    const c = resolveVarVqvaeConfig(config);
    const { tensors, report } = await loadAutoencoderWeights(source, VarVqvae.stateDictSpec(c), CHECKPOINT_PREFIXES, trainable);
    return VarVqvae.build(c, tensors, report);
  }

  /** A fresh CNN of `config` with PyTorch's default initialisation drawn from `rng`, as trainable tf.Variables. */
  static fromConfig(config: VarVqvaeConfig, rng: RandomGenerator): VarVqvae {
    const c = resolveVarVqvaeConfig(config);
    return VarVqvae.build(c, initParameters(VarVqvae.stateDictSpec(c), rng), emptyLoadReport());
  }

  private static build(c: ResolvedVarVqvaeConfig, tensors: ReadonlyMap<string, tf.Tensor>, report: VarVqvaeLoadReport): VarVqvae {
    return buildOwningWeights(
      tensors,
      () =>
        new VarVqvae(
          c,
          ConvStack.load(tensors, varEncoderPlan(c)),
          Conv2d.load(tensors, 'quant_conv'),
          Conv2d.load(tensors, 'post_quant_conv'),
          ConvStack.load(tensors, varDecoderPlan(c)),
          report,
          tensors,
        ),
    );
  }

  /** Image height and width must be multiples of this; the latent is (H/f) × (W/f). */
  readonly downsampleFactor: number;

  private constructor(
    readonly config: ResolvedVarVqvaeConfig,
    private readonly encoder: ConvStack,
    private readonly quantConv: Conv2d,
    private readonly postQuantConv: Conv2d,
    private readonly decoder: ConvStack,
    readonly report: VarVqvaeLoadReport,
    /** Every CNN weight by state-dict name, in tfjs layout: the same tensors the modules hold. */
    readonly parameters: LoadedParameters,
  ) {
    this.downsampleFactor = 2 ** (config.chMult.length - 1);
  }

  /** The encoder's output before quant_conv, [B, H/f, W/f, zChannels], for `img_BHWC` [B, H, W, 3] in [−1, 1]. */
  encoderOut(img_BHWC: tf.Tensor4D): tf.Tensor4D {
    this.checkImage(img_BHWC);
    return this.encoder.apply(img_BHWC);
  }

  /** f = quant_conv(encoder(img)), [B, H/f, W/f, zChannels]: the latent the quantizer sees. */
  encode(img_BHWC: tf.Tensor4D): tf.Tensor4D {
    this.checkImage(img_BHWC);
    return tf.tidy(() => this.quantConv.apply(this.encoder.apply(img_BHWC)));
  }

  /** decoder(post_quant_conv(f̂)), [B, H·f, W·f, 3], not clamped. */
  decode(fhat_BHWC: tf.Tensor4D): tf.Tensor4D {
    this.checkLatent(fhat_BHWC);
    return this.decodeUnchecked(fhat_BHWC);
  }

  /** VAR's `fhat_to_img`: `decode(f̂)` clamped to [−1, 1] (VAR shows (x + 1)/2). */
  fhatToImage(fhat_BHWC: tf.Tensor4D): tf.Tensor4D {
    this.checkLatent(fhat_BHWC);
    return tf.tidy(() => tf.clipByValue(this.decodeUnchecked(fhat_BHWC), -1, 1));
  }

  /** The trainable weights (tf.Variables) in state-dict name order; empty for a model loaded without `trainable`. */
  variables(): tf.Variable[] {
    return variablesOf(this.parameters);
  }

  dispose(): void {
    for (const m of [this.encoder, this.quantConv, this.postQuantConv, this.decoder]) m.dispose();
  }

  private decodeUnchecked(fhat_BHWC: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.decoder.apply(this.postQuantConv.apply(fhat_BHWC)));
  }

  private checkImage(img_BHWC: tf.Tensor4D): void {
    checkImage(img_BHWC, this.config.chMult.length);
  }

  private checkLatent(fhat_BHWC: tf.Tensor4D): void {
    checkLatent(fhat_BHWC, 'fhat_BHWC', this.config.zChannels, 'zChannels');
  }
}
