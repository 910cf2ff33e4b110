import * as tf from '@tensorflow/tfjs-core';
import type { RandomGenerator, TensorSource } from '@nextdetail/core';
import { buildOwningWeights, loadAutoencoderWeights } from './autoencoderWeights.js';
import { Conv2d } from './conv2d.js';
import { ConvStack, type ConvStackPlan } from './convStack.js';
import { decoderPlan } from './decoder.js';
import { encoderPlan } from './encoder.js';
import {
  type FlexVaeConfig,
  flexVaeStackShape,
  LLAMAGEN_BLOCK_STYLE,
  resolveFlexVaeConfig,
  type ResolvedFlexVaeConfig,
} from './flexVaeConfig.js';
import { checkImage, checkLatent } from './inputChecks.js';
import { type AutoencoderLoadReport, emptyLoadReport } from './loadReport.js';
import { type AutoencoderLoadOptions, initParameters, variablesOf } from './parameterInit.js';
import type { LoadedParameters, ParameterSpecs } from './parameters.js';
import { llamaGenStackNames } from './stackNames.js';

/** `FlexVAE.pth` is `{'model': state_dict}`; a flattened export keeps `model.` in every name. */
const CHECKPOINT_PREFIXES = ['', 'model.'];

function flexEncoderPlan(c: ResolvedFlexVaeConfig): ConvStackPlan {
  return encoderPlan(flexVaeStackShape(c), LLAMAGEN_BLOCK_STYLE, llamaGenStackNames('encoder', c.chMult.length));
}

function flexDecoderPlan(c: ResolvedFlexVaeConfig): ConvStackPlan {
  return decoderPlan(flexVaeStackShape(c), LLAMAGEN_BLOCK_STYLE, llamaGenStackNames('decoder', c.chMult.length));
}

// jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py VQModel: encode_conti = quant_conv(encoder(x)),
// decode = decoder(post_quant_conv(quant)), with no clamp (reference digest §0.1 item 8). The l2-normalised quantizer
// between them is a separate module. NHWC throughout.
export class FlexVae {
  /** Every CNN parameter (without the checkpoint's `model.`): state-dict name, PyTorch shape, layout transform. */
  static stateDictSpec(config: FlexVaeConfig = {}): ParameterSpecs {
    const c = resolveFlexVaeConfig(config);
    return {
      ...ConvStack.spec(flexEncoderPlan(c)),
      ...Conv2d.spec('quant_conv', c.zChannels, c.codebookEmbedDim, 1),
      ...Conv2d.spec('post_quant_conv', c.codebookEmbedDim, c.zChannels, 1),
      ...ConvStack.spec(flexDecoderPlan(c)),
    };
  }

  /**
   * Loads the CNN from `FlexVAE.pth` opened with readPytorch (which descends into `['model']`) or from a flat source
   * whose names start with `model.`. A tensor whose shape does not fit `config` is a ShapeError naming it; a missing
   * one an InvalidArgumentError. What else the checkpoint held is in `report` (`quantize.embedding.weight` as
   * expected-unused, the `quantize.codebook_used` buffer as ignored). With `trainable` the weights are tf.Variables.
   */
  static async fromStateDict(
    source: TensorSource,
    config: FlexVaeConfig = {},
    { trainable = false }: AutoencoderLoadOptions = {},
  ): Promise<FlexVae> {
    const c = resolveFlexVaeConfig(config);
    const { tensors, report } = await loadAutoencoderWeights(source, FlexVae.stateDictSpec(c), CHECKPOINT_PREFIXES, trainable);
    return FlexVae.build(c, tensors, report);
  }

  /** A fresh CNN of `config` with PyTorch's default initialisation drawn from `rng`, as trainable tf.Variables. */
  static fromConfig(config: FlexVaeConfig, rng: RandomGenerator): FlexVae {
    const c = resolveFlexVaeConfig(config);
    return FlexVae.build(c, initParameters(FlexVae.stateDictSpec(c), rng), emptyLoadReport());
  }

  private static build(c: ResolvedFlexVaeConfig, tensors: ReadonlyMap<string, tf.Tensor>, report: AutoencoderLoadReport): FlexVae {
    return buildOwningWeights(
      tensors,
      () =>
        new FlexVae(
          c,
          ConvStack.load(tensors, flexEncoderPlan(c)),
          Conv2d.load(tensors, 'quant_conv'),
          Conv2d.load(tensors, 'post_quant_conv'),
          ConvStack.load(tensors, flexDecoderPlan(c)),
          report,
          tensors,
        ),
    );
  }

  /** Image height and width must be multiples of this; the latent is (H/f) × (W/f). */
  readonly downsampleFactor: number;

  private constructor(
    readonly config: ResolvedFlexVaeConfig,
    private readonly encoder: ConvStack,
    private readonly quantConv: Conv2d,
    private readonly postQuantConv: Conv2d,
    private readonly decoder: ConvStack,
    readonly report: AutoencoderLoadReport,
    /** Every CNN weight by state-dict name (without a container prefix), in tfjs layout: the tensors the modules hold. */
    readonly parameters: LoadedParameters,
  ) {
    this.downsampleFactor = 2 ** (config.chMult.length - 1);
  }

  /**
   * quant_conv(encoder(img)), [B, H/f, W/f, codebookEmbedDim], for `img_BHWC` [B, H, W, 3] in [−1, 1]. quant_conv is
   * 1×1, so FlexVAR's per-scale `area` pooling may come before or after it.
   */
  encode(img_BHWC: tf.Tensor4D): tf.Tensor4D {
    checkImage(img_BHWC, this.config.chMult.length);
    return tf.tidy(() => this.quantConv.apply(this.encoder.apply(img_BHWC)));
  }

  /** decoder(post_quant_conv(z)), [B, h·f, w·f, 3], not clamped (FlexVAR does not clamp). */
  decode(z_BHWC: tf.Tensor4D): tf.Tensor4D {
    checkLatent(z_BHWC, 'z_BHWC', this.config.codebookEmbedDim, 'codebookEmbedDim');
    return tf.tidy(() => this.decoder.apply(this.postQuantConv.apply(z_BHWC)));
  }

  /** The trainable weights (tf.Variables) in state-dict name order; empty for a model loaded without `trainable`. */
  variables(): tf.Variable[] {
    return variablesOf(this.parameters);
  }

  dispose(): void {
    for (const m of [this.encoder, this.quantConv, this.postQuantConv, this.decoder]) m.dispose();
  }
}
