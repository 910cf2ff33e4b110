import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, type TensorSource } from '@nextdetail/core';
import { FlexVae } from '../src/vqvae/flexVae.js';
import type { FlexVaeConfig } from '../src/vqvae/flexVaeConfig.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { syntheticSource, thrown } from './helpers.js';

/** Two levels (factor 2), one block per level: milliseconds on any backend. */
const SMALL: FlexVaeConfig = { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 8, codebookEmbedDim: 4 };

/**
 * An in-memory checkpoint in PyTorch layout with smooth deterministic values (GroupNorm scales near 1): the CNN of
 * `config` and the quantizer's tensors under `prefix`; `shapes` overrides or adds entries.
 */
function memorySource(config: FlexVaeConfig, prefix: string, shapes: Record<string, number[]> = {}): TensorSource {
  const all: Record<string, number[]> = {
    ...Object.fromEntries(Object.entries(FlexVae.stateDictSpec(config)).map(([k, p]) => [prefix + k, [...p.shape]])),
    [`${prefix}quantize.embedding.weight`]: [16, config.codebookEmbedDim ?? 32],
    [`${prefix}quantize.codebook_used`]: [64],
    ...shapes,
  };
  return syntheticSource(all);
}

function image(shape: [number, number, number, number]): tf.Tensor4D {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: size }, (_, i) => Math.sin(0.31 * i)), shape);
}


const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const conv = (i: number, o: number, k: number): number => o * i * k * k + o;
const norm = (c: number): number => 2 * c;
const res = (i: number, o: number): number => norm(i) + conv(i, o, 3) + norm(o) + conv(o, o, 3) + (i !== o ? conv(i, o, 1) : 0);
/** LlamaGen's AttnBlock: norm, q, k, v, proj_out. */
const attn = (c: number): number => norm(c) + 4 * conv(c, c, 1);

describe('FlexVae.stateDictSpec', () => {
  const spec = FlexVae.stateDictSpec();
  const names = Object.keys(spec);
  const count = (prefix: string): number =>
    Object.entries(spec).reduce((n, [k, p]) => n + (k.startsWith(prefix) ? numel(p.shape) : 0), 0);

  it('lists the CNN tensors of FlexVAE.pth: 344 tensors and 72,049,827 parameters less the quantizer (digest §2.2)', () => {
    // The quantizer holds quantize.embedding.weight [8912, 32] (a parameter) and quantize.codebook_used (a buffer).
    expect(names).toHaveLength(344 - 2);
    expect(count('')).toBe(72_049_827 - 8912 * 32);
  });

  it('names and shapes as LlamaGen VQ-16 builds them', () => {
    expect(spec['encoder.conv_in.weight']).toEqual({ shape: [128, 3, 3, 3], transform: 'conv2d' });
    expect(spec['encoder.conv_blocks.0.res.1.norm2.weight']).toEqual({ shape: [128] });
    expect(spec['encoder.conv_blocks.3.downsample.conv.weight']?.shape).toEqual([256, 256, 3, 3]);
    expect(spec['encoder.conv_blocks.4.attn.1.q.weight']).toEqual({ shape: [512, 512, 1, 1], transform: 'conv2d' });
    expect(spec['encoder.mid.1.proj_out.bias']).toEqual({ shape: [512] });
    expect(spec['encoder.mid.2.conv2.weight']?.shape).toEqual([512, 512, 3, 3]);
    expect(spec['encoder.conv_out.weight']?.shape).toEqual([256, 512, 3, 3]);
    expect(spec['quant_conv.weight']?.shape).toEqual([32, 256, 1, 1]);
    expect(spec['post_quant_conv.weight']?.shape).toEqual([256, 32, 1, 1]);
    expect(spec['decoder.conv_in.weight']?.shape).toEqual([512, 256, 3, 3]);
    expect(spec['decoder.conv_blocks.0.attn.2.v.weight']?.shape).toEqual([512, 512, 1, 1]);
    expect(spec['decoder.conv_blocks.0.upsample.conv.weight']?.shape).toEqual([512, 512, 3, 3]);
    expect(spec['decoder.conv_blocks.4.res.2.conv1.weight']?.shape).toEqual([128, 128, 3, 3]);
    expect(spec['decoder.norm_out.weight']).toEqual({ shape: [128] });
    expect(spec['decoder.conv_out.weight']?.shape).toEqual([3, 128, 3, 3]);
    expect(names.filter((k) => k.includes('nin_shortcut.weight')).sort()).toEqual([
      'decoder.conv_blocks.1.res.0.nin_shortcut.weight',
      'decoder.conv_blocks.3.res.0.nin_shortcut.weight',
      'encoder.conv_blocks.2.res.0.nin_shortcut.weight',
      'encoder.conv_blocks.4.res.0.nin_shortcut.weight',
    ]);
    expect(spec['decoder.conv_blocks.1.res.0.nin_shortcut.weight']?.shape).toEqual([256, 512, 1, 1]);
    // Attention sits only in the lowest-resolution level and the middle; no resampling past the ends.
    expect(new Set(names.filter((k) => k.includes('.attn.')).map((k) => k.split('.attn.')[0]))).toEqual(
      new Set(['encoder.conv_blocks.4', 'decoder.conv_blocks.0']),
    );
    expect(names.some((k) => k.startsWith('encoder.conv_blocks.4.downsample'))).toBe(false);
    expect(names.some((k) => k.startsWith('decoder.conv_blocks.4.upsample'))).toBe(false);
    expect(names.some((k) => k.includes('qkv'))).toBe(false);
  });

  it('parameter counts per level follow the digest §2.2 block lists', () => {
    const down = (c: number): number => conv(c, c, 3);
    expect(count('encoder.conv_blocks.0.')).toBe(2 * res(128, 128) + down(128));
    expect(count('encoder.conv_blocks.1.')).toBe(2 * res(128, 128) + down(128));
    expect(count('encoder.conv_blocks.2.')).toBe(res(128, 256) + res(256, 256) + down(256));
    expect(count('encoder.conv_blocks.3.')).toBe(2 * res(256, 256) + down(256));
    expect(count('encoder.conv_blocks.4.')).toBe(res(256, 512) + res(512, 512) + 2 * attn(512));
    expect(count('encoder.mid.')).toBe(2 * res(512, 512) + attn(512));
    expect(count('decoder.mid.')).toBe(2 * res(512, 512) + attn(512));
    expect(count('decoder.conv_blocks.0.')).toBe(3 * res(512, 512) + 3 * attn(512) + down(512));
    expect(count('decoder.conv_blocks.1.')).toBe(res(512, 256) + 2 * res(256, 256) + down(256));
    expect(count('decoder.conv_blocks.2.')).toBe(3 * res(256, 256) + down(256));
    expect(count('decoder.conv_blocks.3.')).toBe(res(256, 128) + 2 * res(128, 128) + down(128));
    expect(count('decoder.conv_blocks.4.')).toBe(3 * res(128, 128));
  });

  it('rejects configs LlamaGen could not build, naming the field', async () => {
    for (const [config, argument] of [
      [{ ...SMALL, ch: 48 }, 'config.ch'],
      [{ ...SMALL, chMult: [1, 1.5] }, 'config.chMult[1]'],
      [{ ...SMALL, chMult: [] }, 'config.chMult'],
      [{ ...SMALL, zChannels: 0 }, 'config.zChannels'],
      [{ ...SMALL, codebookEmbedDim: 2.5 }, 'config.codebookEmbedDim'],
    ] as const) {
      const err = await thrown(() => FlexVae.stateDictSpec(config));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).argument).toBe(argument);
    }
  });
});

describe(`FlexVae loading and shapes [${backendName()}]`, () => {
  for (const prefix of ['model.', '']) {
    it(`loads names ${prefix ? `under "${prefix}"` : 'without a prefix'}, encodes and decodes a non-square batch, leak-free`, async () => {
      await expectNoLeaks(async () => {
        const vae = await FlexVae.fromStateDict(memorySource(SMALL, prefix, { 'extra.weight': [2] }), SMALL);
        expect(vae.report).toEqual({
          missing: [],
          unused: ['extra.weight'],
          expectedUnused: [`${prefix}quantize.embedding.weight`],
          ignored: [`${prefix}quantize.codebook_used`],
        });
        expect(vae.downsampleFactor).toBe(2);
        const img_BHWC = image([2, 6, 4, 3]);
        const z_BHWC = vae.encode(img_BHWC);
        expect(z_BHWC.shape).toEqual([2, 3, 2, 4]);
        const out_BHWC = vae.decode(z_BHWC);
        expect(out_BHWC.shape).toEqual([2, 6, 4, 3]);
        expect((await out_BHWC.data()).every(Number.isFinite)).toBe(true);
        tf.dispose([img_BHWC, z_BHWC, out_BHWC]);
        vae.dispose();
      });
    });
  }

  it('does not clamp: a conv_out bias of ±5 reaches the output', async () => {
    const source = memorySource(SMALL, 'model.');
    const biased: TensorSource = {
      ...source,
      tensor: async (name) => (name === 'model.decoder.conv_out.bias' ? tf.tensor1d([5, -5, 0]) : source.tensor(name)),
    };
    const vae = await FlexVae.fromStateDict(biased, SMALL);
    const z_BHWC = image([1, 2, 3, 4]);
    const out_BHWC = vae.decode(z_BHWC);
    expect(out_BHWC.shape).toEqual([1, 4, 6, 3]);
    const values = await out_BHWC.data();
    expect(Math.max(...values)).toBeGreaterThan(4);
    expect(Math.min(...values)).toBeLessThan(-4);
    tf.dispose([z_BHWC, out_BHWC]);
    vae.dispose();
  });

  it("a tensor whose shape does not fit the config is core's ShapeError naming it (with the prefix), leak-free", async () => {
    const name = 'model.encoder.conv_blocks.1.res.0.nin_shortcut.weight';
    const err = await expectNoLeaks(() =>
      thrown(() => FlexVae.fromStateDict(memorySource(SMALL, 'model.', { [name]: [64, 32, 3, 3] }), SMALL)),
    );
    expect(err).toBeInstanceOf(ShapeError);
    expect((err as ShapeError).argument).toBe(name);
    expect((err as ShapeError).expected).toContain('[64, 32, 1, 1]');
  });

  it('rejects images and latents of the wrong shape, naming the argument', async () => {
    const vae = await FlexVae.fromStateDict(memorySource(SMALL, ''), SMALL);
    const cases: Array<['encode' | 'decode', tf.Tensor, string, RegExp]> = [
      ['encode', tf.zeros([1, 5, 4, 3]), 'img_BHWC', /multiples of 2/],
      ['encode', tf.zeros([1, 3, 4, 4]), 'img_BHWC', /\[B, H, W, 3\]/],
      ['decode', tf.zeros([1, 2, 2, 8]), 'z_BHWC', /\[B, h, w, 4\]/],
    ];
    for (const [method, input, argument, expected] of cases) {
      const err = (await expectNoLeaks(() => thrown(() => vae[method](input as tf.Tensor4D)))) as ShapeError;
      expect(err).toBeInstanceOf(ShapeError);
      expect(err.argument).toBe(argument);
      expect(err.expected).toMatch(expected);
      input.dispose();
    }
    vae.dispose();
  });
});
