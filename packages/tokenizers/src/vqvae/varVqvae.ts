import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, describeShape, loadStateDict, ShapeError, type StateDictReport, type TensorSource } from '@nextdetail/core';
import { Conv2d } from './conv2d.js';
import { ConvStack } from './convStack.js';
import { decoderPlan } from './decoder.js';
import { encoderPlan, IMAGE_CHANNELS } from './encoder.js';
import type { ParameterSpecs } from './parameters.js';
import { resolveVarVqvaeConfig, type ResolvedVarVqvaeConfig, type VarVqvaeConfig } from './varVqvaeConfig.js';

/** The quantizer's tensors share the checkpoint but are read by the quantizer's own loader. */
const QUANTIZER_PREFIX = 'quantize.';

/**
 * core's load report, with the quantizer's `quantize.*` tensors moved from `unused` to `expectedUnused`: `unused` is
 * then only what nobody reads. (`quantize.ema_vocab_hit_SV`, a training buffer, stays in `ignored`.)
 */
export interface VarVqvaeLoadReport extends StateDictReport {
  expectedUnused: string[];
}

// FoundationVision/VAR@78b9539:models/vqvae.py VQVAE: encoder, quant_conv, post_quant_conv, decoder, fhat_to_img
// (the quantizer between quant_conv and post_quant_conv is a separate module). NHWC throughout.
export class VarVqvae {
  /** Every CNN parameter: its state-dict name, PyTorch shape and layout transform, for core's `loadStateDict`. */
  static stateDictSpec(config: VarVqvaeConfig): ParameterSpecs {
    const c = resolveVarVqvaeConfig(config);
    return {
      ...ConvStack.spec(encoderPlan(c)),
      ...Conv2d.spec('quant_conv', c.zChannels, c.zChannels, c.quantConvKs),
      ...Conv2d.spec('post_quant_conv', c.zChannels, c.zChannels, c.quantConvKs),
      ...ConvStack.spec(decoderPlan(c)),
    };
  }

  /**
   * Loads the CNN from a state dict with the reference names (a safetensors file, or the `.pth` as `torch.save`
   * wrote it). A tensor whose shape does not fit `config` is a ShapeError naming it; a missing one an
   * InvalidArgumentError. What else the checkpoint held is in `report`.
   */
  static async fromStateDict(source: TensorSource, config: VarVqvaeConfig): Promise<VarVqvae> {
    const c = resolveVarVqvaeConfig(config);
    const { tensors, report } = await loadStateDict(source, VarVqvae.stateDictSpec(c));
    try {
      return new VarVqvae(
        c,
        ConvStack.load(tensors, encoderPlan(c)),
        Conv2d.load(tensors, 'quant_conv'),
        Conv2d.load(tensors, 'post_quant_conv'),
        ConvStack.load(tensors, decoderPlan(c)),
        {
          ...report,
          unused: report.unused.filter((k) => !k.startsWith(QUANTIZER_PREFIX)),
          expectedUnused: report.unused.filter((k) => k.startsWith(QUANTIZER_PREFIX)),
        },
      );
    } catch (err) {
      tf.dispose([...tensors.values()]);
      throw err;
    }
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

  dispose(): void {
    for (const m of [this.encoder, this.quantConv, this.postQuantConv, this.decoder]) m.dispose();
  }

  private decodeUnchecked(fhat_BHWC: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.decoder.apply(this.postQuantConv.apply(fhat_BHWC)));
  }

  private checkImage(img_BHWC: tf.Tensor4D): void {
    checkTensor(img_BHWC, 'img_BHWC', { rank: 4, dtype: 'float32' });
    const [, H, W, C] = img_BHWC.shape;
    if (C !== IMAGE_CHANNELS) {
      throw new ShapeError('img_BHWC', `[B, H, W, ${IMAGE_CHANNELS}] (NHWC, RGB)`, `shape ${describeShape(img_BHWC.shape)}`);
    }
    const f = this.downsampleFactor;
    if (H % f !== 0 || W % f !== 0 || H === 0 || W === 0) {
      throw new ShapeError(
        'img_BHWC',
        `height and width that are positive multiples of ${f} (the encoder halves them ${this.config.chMult.length - 1} times)`,
        `shape ${describeShape(img_BHWC.shape)}`,
      );
    }
  }

  private checkLatent(fhat_BHWC: tf.Tensor4D): void {
    checkTensor(fhat_BHWC, 'fhat_BHWC', { rank: 4, dtype: 'float32' });
    const [, H, W, C] = fhat_BHWC.shape;
    if (C !== this.config.zChannels || H === 0 || W === 0) {
      throw new ShapeError('fhat_BHWC', `[B, h, w, ${this.config.zChannels}] (NHWC, zChannels last)`, `shape ${describeShape(fhat_BHWC.shape)}`);
    }
  }
}
