import * as tf from '@tensorflow/tfjs-core';
import { AttnBlock } from './attnBlock.js';
import { Conv2d } from './conv2d.js';
import { Downsample } from './downsample.js';
import { GroupNorm } from './groupNorm.js';
import type { LoadedParameters, ParameterSpecs } from './parameters.js';
import { ResnetBlock } from './resnetBlock.js';
import { silu } from './silu.js';
import { Upsample } from './upsample.js';

/** One module of the chain, named by its state-dict prefix. */
export type LayerPlan =
  | { kind: 'resnet'; name: string; inChannels: number; outChannels: number }
  | { kind: 'attn' | 'downsample' | 'upsample'; name: string; channels: number };

/**
 * What the reference Encoder and Decoder constructors build, flattened into execution order: the state-dict names and
 * widths of conv_in, the chain of blocks, norm_out and conv_out. One plan drives both the state-dict spec and the
 * loading, so the two cannot disagree.
 */
export interface ConvStackPlan {
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

/** `mid.block_1`, `mid.attn_1` (absent when mid attention is off: nn.Identity), `mid.block_2` at constant width. */
export function midLayers(prefix: string, width: number, usingMidSa: boolean): LayerPlan[] {
  return [
    { kind: 'resnet', name: `${prefix}.mid.block_1`, inChannels: width, outChannels: width },
    ...(usingMidSa ? [{ kind: 'attn' as const, name: `${prefix}.mid.attn_1`, channels: width }] : []),
    { kind: 'resnet', name: `${prefix}.mid.block_2`, inChannels: width, outChannels: width },
  ];
}

function layerSpec(layer: LayerPlan): ParameterSpecs {
  switch (layer.kind) {
    case 'resnet':
      return ResnetBlock.spec(layer.name, layer.inChannels, layer.outChannels);
    case 'attn':
      return AttnBlock.spec(layer.name, layer.channels);
    case 'downsample':
      return Downsample.spec(layer.name, layer.channels);
    case 'upsample':
      return Upsample.spec(layer.name, layer.channels);
  }
}

function loadLayer(params: LoadedParameters, layer: LayerPlan): Layer {
  switch (layer.kind) {
    case 'resnet':
      return ResnetBlock.load(params, layer.name, layer.inChannels, layer.outChannels);
    case 'attn':
      return AttnBlock.load(params, layer.name);
    case 'downsample':
      return Downsample.load(params, layer.name);
    case 'upsample':
      return Upsample.load(params, layer.name);
  }
}

// FoundationVision/VAR@78b9539:models/basic_vae.py Encoder.forward / Decoder.forward:
// conv_in, the blocks, then conv_out(silu(norm_out(h)))
export class ConvStack {
  static spec(plan: ConvStackPlan): ParameterSpecs {
    const specs: ParameterSpecs = Conv2d.spec(`${plan.prefix}.conv_in`, plan.inChannels, plan.convInWidth, 3);
    for (const layer of plan.layers) Object.assign(specs, layerSpec(layer));
    return Object.assign(
      specs,
      GroupNorm.spec(`${plan.prefix}.norm_out`, plan.normOutWidth),
      Conv2d.spec(`${plan.prefix}.conv_out`, plan.normOutWidth, plan.outChannels, 3),
    );
  }

  static load(params: LoadedParameters, plan: ConvStackPlan): ConvStack {
    return new ConvStack(
      Conv2d.load(params, `${plan.prefix}.conv_in`),
      plan.layers.map((layer) => loadLayer(params, layer)),
      GroupNorm.load(params, `${plan.prefix}.norm_out`),
      Conv2d.load(params, `${plan.prefix}.conv_out`),
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
