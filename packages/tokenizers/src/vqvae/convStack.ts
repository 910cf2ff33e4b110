import * as tf from '@tensorflow/tfjs-core';
import { AttnBlock } from './attnBlock.js';
import type { BlockStyle } from './blockStyle.js';
import { Conv2d } from './conv2d.js';
import { Downsample } from './downsample.js';
import { GroupNorm } from './groupNorm.js';
import type { LoadedParameters, ParameterSpecs } from './parameters.js';
import { ResnetBlock } from './resnetBlock.js';
import { silu } from './silu.js';
import type { ConvStackNames } from './stackNames.js';
import { Upsample } from './upsample.js';

/** One module of the chain, named by its state-dict prefix. */
export type LayerPlan =
  | { kind: 'resnet'; name: string; inChannels: number; outChannels: number }
  | { kind: 'attn' | 'downsample' | 'upsample'; name: string; channels: number };

/** The architecture hyper-parameters an encoder/decoder pair is built from (every family's config resolves to these). */
export interface ConvStackShape {
  /** Base width; level l has ch·chMult[l] channels. */
  ch: number;
  chMult: readonly number[];
  numResBlocks: number;
  /** The encoder's output and the decoder's input channels. */
  zChannels: number;
  /** Attention after every block of the lowest-resolution level. */
  usingSa: boolean;
  /** Attention between the two middle blocks. */
  usingMidSa: boolean;
}

/**
 * What the reference Encoder and Decoder constructors build, flattened into execution order: the state-dict names and
 * widths of conv_in, the chain of blocks, norm_out and conv_out. One plan drives both the state-dict spec and the
 * loading, so the two cannot disagree.
 */
export interface ConvStackPlan {
  style: BlockStyle;
  prefix: string;
  inChannels: number;
  convInWidth: number;
  layers: LayerPlan[];
  normOutWidth: number;
  outChannels: number;
}

interface Layer {
  apply(x_BHWC: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

/** Middle ResnetBlock, AttnBlock (absent when mid attention is off: nn.Identity), ResnetBlock at constant width. */
export function midLayers(names: ConvStackNames, width: number, usingMidSa: boolean): LayerPlan[] {
  return [
    { kind: 'resnet', name: names.mid[0], inChannels: width, outChannels: width },
    ...(usingMidSa ? [{ kind: 'attn' as const, name: names.mid[1], channels: width }] : []),
    { kind: 'resnet', name: names.mid[2], inChannels: width, outChannels: width },
  ];
}

function layerSpec(style: BlockStyle, layer: LayerPlan): ParameterSpecs {
  switch (layer.kind) {
    case 'resnet':
      return ResnetBlock.spec(style, layer.name, layer.inChannels, layer.outChannels);
    case 'attn':
      return AttnBlock.spec(style, layer.name, layer.channels);
    case 'downsample':
      return Downsample.spec(style, layer.name, layer.channels);
    case 'upsample':
      return Upsample.spec(style, layer.name, layer.channels);
  }
}

function loadLayer(style: BlockStyle, params: LoadedParameters, layer: LayerPlan): Layer {
  switch (layer.kind) {
    case 'resnet':
      return ResnetBlock.load(style, params, layer.name, layer.inChannels, layer.outChannels);
    case 'attn':
      return AttnBlock.load(style, params, layer.name, layer.channels);
    case 'downsample':
      return Downsample.load(style, params, layer.name);
    case 'upsample':
      return Upsample.load(style, params, layer.name);
  }
}

// FoundationVision/VAR@78b9539:models/basic_vae.py Encoder.forward / Decoder.forward (and LlamaGen's, in
// jiaosiyu1999/FlexVAR@ca50a03:models/vq_llama.py): conv_in, the blocks, then conv_out(silu(norm_out(h)))
export class ConvStack {
  static spec(plan: ConvStackPlan): ParameterSpecs {
    const conv = (module: string): string => plan.style.convPath(`${plan.prefix}.${module}`);
    const norm = (module: string): string => plan.style.normPath(`${plan.prefix}.${module}`);
    const specs: ParameterSpecs = Conv2d.spec(conv('conv_in'), plan.inChannels, plan.convInWidth, 3);
    for (const layer of plan.layers) Object.assign(specs, layerSpec(plan.style, layer));
    return Object.assign(
      specs,
      GroupNorm.spec(norm('norm_out'), plan.normOutWidth),
      Conv2d.spec(conv('conv_out'), plan.normOutWidth, plan.outChannels, 3),
    );
  }

  static load(params: LoadedParameters, plan: ConvStackPlan): ConvStack {
    const conv = (module: string): string => plan.style.convPath(`${plan.prefix}.${module}`);
    const norm = (module: string): string => plan.style.normPath(`${plan.prefix}.${module}`);
    return new ConvStack(
      Conv2d.load(params, conv('conv_in')),
      plan.layers.map((layer) => loadLayer(plan.style, params, layer)),
      GroupNorm.load(params, norm('norm_out'), plan.style.groups(plan.normOutWidth)),
      Conv2d.load(params, conv('conv_out')),
    );
  }

  private constructor(
    private readonly convIn: Conv2d,
    private readonly layers: Layer[],
    private readonly normOut: GroupNorm,
    private readonly convOut: Conv2d,
  ) {}

  apply(x_BHWC: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h_BHWC = this.convIn.apply(x_BHWC);
      for (const layer of this.layers) {
        const next_BHWC = layer.apply(h_BHWC);
        // Freed as we go: at 256 px the decoder's intermediates would otherwise add up to gigabytes.
        h_BHWC.dispose();
        h_BHWC = next_BHWC;
      }
      return this.convOut.apply(silu(this.normOut.apply(h_BHWC)));
    });
  }

  dispose(): void {
    for (const m of [this.convIn, ...this.layers, this.normOut, this.convOut]) m.dispose();
  }
}
