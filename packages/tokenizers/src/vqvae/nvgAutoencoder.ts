import * as tf from '@tensorflow/tfjs-core';
import type { RandomGenerator, TensorSource } from '@nextdetail/core';
import { buildOwningWeights, loadAutoencoderWeights } from './autoencoderWeights.js';
import { ConvStack, type ConvStackPlan } from './convStack.js';
import { decoderPlan } from './decoder.js';
import { encoderPlan } from './encoder.js';
import { checkImage, checkLatent } from './inputChecks.js';
import { type AutoencoderLoadReport, emptyLoadReport } from './loadReport.js';
import { type AutoencoderLoadOptions, initParameters, variablesOf } from './parameterInit.js';
import {
  NVG_BLOCK_STYLE,
  type NvgAutoencoderConfig,
  nvgStackShape,
  resolveNvgAutoencoderConfig,
  type ResolvedNvgAutoencoderConfig,
} from './nvgAutoencoderConfig.js';
import type { LoadedParameters, ParameterSpecs } from './parameters.js';
import { ldmStackNames } from './stackNames.js';

/** `ckpt/ae.ckpt` is a Lightning file, `{'state_dict': …}`; a flattened export keeps `state_dict.` in every name. */
const CHECKPOINT_PREFIXES = ['', 'state_dict.'];

function nvgEncoderPlan(c: ResolvedNvgAutoencoderConfig): ConvStackPlan {
  return encoderPlan(nvgStackShape(c), NVG_BLOCK_STYLE, ldmStackNames('encoder'));
}

function nvgDecoderPlan(c: ResolvedNvgAutoencoderConfig): ConvStackPlan {
  return decoderPlan(nvgStackShape(c), NVG_BLOCK_STYLE, ldmStackNames('decoder'));
}

// Reference digest §3.2 (clean-room, from the behavioural description): the encoder's output is the latent itself
// (no quant_conv), the decoder reads it directly and its output is clamped to [−1, 1]. The granularity quantizer
// between them is a separate module. NHWC throughout.
export class NvgAutoencoder {
  /** Every CNN parameter (without Lightning's `state_dict.`): state-dict name, PyTorch shape, layout transform. */
  static stateDictSpec(config: NvgAutoencoderConfig = {}): ParameterSpecs {
    const c = resolveNvgAutoencoderConfig(config);
    return { ...ConvStack.spec(nvgEncoderPlan(c)), ...ConvStack.spec(nvgDecoderPlan(c)) };
  }

  /**
   * Loads the CNN from `ckpt/ae.ckpt` opened with readPytorch (which descends into `['state_dict']`) or from a flat
   * source whose names start with `state_dict.`. A tensor whose shape does not fit `config` is a ShapeError naming it;
   * a missing one an InvalidArgumentError. With `trainable` the weights are tf.Variables. The quantizer's `quantize.*`
   * are expected-unused in `report`; loss and EMA entries land in `report.unused`.
   */
  static async fromStateDict(
    source: TensorSource,
    config: NvgAutoencoderConfig = {},
    { trainable = false }: AutoencoderLoadOptions = {},
  ): Promise<NvgAutoencoder> {
    const c = resolveNvgAutoencoderConfig(config);
    const { tensors, report } = await loadAutoencoderWeights(source, NvgAutoencoder.stateDictSpec(c), CHECKPOINT_PREFIXES, trainable);
    return NvgAutoencoder.build(c, tensors, report);
  }

  /** A fresh CNN of `config` with PyTorch's default initialisation drawn from `rng`, as trainable tf.Variables. */
  static fromConfig(config: NvgAutoencoderConfig, rng: RandomGenerator): NvgAutoencoder {
    const c = resolveNvgAutoencoderConfig(config);
    return NvgAutoencoder.build(c, initParameters(NvgAutoencoder.stateDictSpec(c), rng), emptyLoadReport());
  }

  private static build(c: ResolvedNvgAutoencoderConfig, tensors: ReadonlyMap<string, tf.Tensor>, report: AutoencoderLoadReport): NvgAutoencoder {
    return buildOwningWeights(
      tensors,
      () => new NvgAutoencoder(c, ConvStack.load(tensors, nvgEncoderPlan(c)), ConvStack.load(tensors, nvgDecoderPlan(c)), report, tensors),
    );
  }

  /** Image height and width must be multiples of this; the latent is (H/f) × (W/f). */
  readonly downsampleFactor: number;

  private constructor(
    readonly config: ResolvedNvgAutoencoderConfig,
    private readonly encoder: ConvStack,
    private readonly decoder: ConvStack,
    readonly report: AutoencoderLoadReport,
    /** Every CNN weight by state-dict name (without a container prefix), in tfjs layout: the tensors the modules hold. */
    readonly parameters: LoadedParameters,
  ) {
    this.downsampleFactor = 2 ** (config.chMult.length - 1);
  }

  /** encoder(img), [B, H/f, W/f, embedDim], for `img_BHWC` [B, H, W, 3] in [−1, 1]. */
  encode(img_BHWC: tf.Tensor4D): tf.Tensor4D {
    checkImage(img_BHWC, this.config.chMult.length);
    return this.encoder.apply(img_BHWC);
  }

  /** clamp(decoder(z), −1, 1), [B, h·f, w·f, 3]. */
  decode(z_BHWC: tf.Tensor4D): tf.Tensor4D {
    checkLatent(z_BHWC, 'z_BHWC', this.config.embedDim, 'embedDim');
    return tf.tidy(() => tf.clipByValue(this.decoder.apply(z_BHWC), -1, 1));
  }

  /** The trainable weights (tf.Variables) in state-dict name order; empty for a model loaded without `trainable`. */
  variables(): tf.Variable[] {
    return variablesOf(this.parameters);
  }

  dispose(): void {
    for (const m of [this.encoder, this.decoder]) m.dispose();
  }
}
