import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, type RandomGenerator } from '@nextdetail/core';
import { Conv2d } from '../vqvae/conv2d.js';

const LEAKY_SLOPE = 0.2;

/**
 * A PatchGAN discriminator: 4×4 convolutions, stride 2 while the width doubles, LeakyReLU(0.2), and a 1-channel map of
 * real/fake logits, one per receptive-field patch. Without the reference's BatchNorm (batch statistics would make a
 * training step depend on the batch split) and with 'same' padding; weights N(0, 0.02), biases 0.
 */
// CompVis/taming-transformers taming/modules/discriminator/model.py NLayerDiscriminator, weights_init
export class PatchDiscriminator {
  static create(rng: RandomGenerator, { channels = 64, layers = 2 }: { channels?: number; layers?: number } = {}): PatchDiscriminator {
    checkNumber(channels, 'channels', { integer: true, min: 1 });
    checkNumber(layers, 'layers', { integer: true, min: 1 });
    const params = new Map<string, tf.Tensor>();
    const strides: Array<1 | 2> = [];
    let width = 3;
    for (let l = 0; l <= layers; l++) {
      const out = l === layers ? 1 : channels * 2 ** l;
      const weight = rng.normal([4, 4, width, out], 0, 0.02);
      params.set(`main.${l}.weight`, tf.variable(weight, true));
      params.set(`main.${l}.bias`, tf.tidy(() => tf.variable(tf.zeros([out]), true)));
      weight.dispose();
      strides.push(l === layers ? 1 : 2);
      width = out;
    }
    return new PatchDiscriminator(
      strides.map((_, l) => Conv2d.load(params, `main.${l}`)),
      strides,
      [...params.values()] as tf.Variable[],
    );
  }

  private constructor(
    private readonly convs: Conv2d[],
    private readonly strides: Array<1 | 2>,
    private readonly weights: tf.Variable[],
  ) {}

  /** Logits [B, H/2^layers, W/2^layers, 1] for images [B, H, W, 3] in [−1, 1]. */
  apply(img_BHWC: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() =>
      this.convs.reduce<tf.Tensor4D>((h, conv, l) => {
        const out = conv.apply(h, this.strides[l]!, 'same');
        return l === this.convs.length - 1 ? out : tf.leakyRelu(out, LEAKY_SLOPE);
      }, img_BHWC),
    );
  }

  variables(): tf.Variable[] {
    return [...this.weights];
  }

  dispose(): void {
    for (const conv of this.convs) conv.dispose();
  }
}
