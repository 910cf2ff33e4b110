import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DTypeError, InvalidArgumentError, ShapeError, type TensorSource } from '@nextdetail/core';
import { VarVqvae } from '../src/vqvae/varVqvae.js';
import { varVqvaeConfigFromReference, type VarVqvaeConfig } from '../src/vqvae/varVqvaeConfig.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { syntheticSource, thrown } from './helpers.js';

/** `vae_ch160v4096z32.pth`, the released VAR tokenizer. */
const RELEASED: VarVqvaeConfig = { ch: 160, zChannels: 32, vocabSize: 4096 };

/** Two levels (factor 2), one block per level, z 4: small enough to run anywhere in milliseconds. */
const SMALL: VarVqvaeConfig = { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 4, vocabSize: 8 };

/**
 * An in-memory checkpoint in PyTorch layout with smooth deterministic values (GroupNorm scales near 1), holding the
 * CNN of `config` plus quantizer tensors and `extra`; `shapes` overrides or adds entries.
 */
function memorySource(config: VarVqvaeConfig, shapes: Record<string, number[] | null> = {}): TensorSource {
  const all: Record<string, number[] | null> = {
    ...Object.fromEntries(Object.entries(VarVqvae.stateDictSpec(config)).map(([k, p]) => [k, [...p.shape]])),
    'quantize.embedding.weight': [config.vocabSize, config.zChannels],
    'quantize.ema_vocab_hit_SV': [2, config.vocabSize],
    ...shapes,
  };
  const present = Object.fromEntries(Object.entries(all).filter((e): e is [string, number[]] => e[1] !== null));
  return syntheticSource(present);
}

function image(shape: [number, number, number, number]): tf.Tensor4D {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: size }, (_, i) => Math.sin(0.31 * i)), shape);
}


describe('VarVqvae.stateDictSpec', () => {
  it('lists the 314 CNN tensors of vae_ch160v4096z32.pth with their PyTorch shapes and layouts', () => {
    const spec = VarVqvae.stateDictSpec(RELEASED);
    const names = Object.keys(spec);
    // The checkpoint holds 324 tensors; the other 10 are the quantizer's (embedding, 4 Phi convs, ema_vocab_hit_SV).
    expect(names).toHaveLength(314);
    const count = Object.values(spec).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
    // 108,948,355 parameters in all (reference digest §1.2) minus the codebook (4096·32) and the Phi convs (4·(32·32·9 + 32)).
    expect(count).toBe(108_948_355 - 4096 * 32 - 4 * (32 * 32 * 9 + 32));
    expect(names.filter((k) => k.includes('nin_shortcut.weight')).sort()).toEqual([
      'decoder.up.1.block.0.nin_shortcut.weight',
      'decoder.up.3.block.0.nin_shortcut.weight',
      'encoder.down.2.block.0.nin_shortcut.weight',
      'encoder.down.4.block.0.nin_shortcut.weight',
    ]);
    expect(spec['encoder.conv_in.weight']).toEqual({ shape: [160, 3, 3, 3], transform: 'conv2d' });
    expect(spec['encoder.down.4.attn.1.qkv.weight']).toEqual({ shape: [1920, 640, 1, 1], transform: 'conv2d' });
    expect(spec['encoder.conv_out.weight']?.shape).toEqual([32, 640, 3, 3]);
    expect(spec['decoder.conv_in.weight']?.shape).toEqual([640, 32, 3, 3]);
    expect(spec['decoder.up.4.attn.2.proj_out.bias']).toEqual({ shape: [640] });
    expect(spec['decoder.norm_out.weight']).toEqual({ shape: [160] });
    expect(spec['decoder.conv_out.weight']?.shape).toEqual([3, 160, 3, 3]);
    expect(spec['quant_conv.weight']?.shape).toEqual([32, 32, 3, 3]);
    expect(spec['post_quant_conv.bias']?.shape).toEqual([32]);
    expect(names.filter((k) => k.includes('downsample'))).toHaveLength(8);
    expect(names.filter((k) => k.includes('upsample'))).toHaveLength(8);
  });

  it('follows the config: no attention tensors without usingSa/usingMidSa, levels and blocks from chMult/numResBlocks', () => {
    const names = Object.keys(VarVqvae.stateDictSpec({ ...SMALL, usingSa: false, usingMidSa: false }));
    expect(names.filter((k) => k.includes('attn'))).toEqual([]);
    expect(names.filter((k) => k.endsWith('downsample.conv.weight'))).toEqual(['encoder.down.0.downsample.conv.weight']);
    expect(names.filter((k) => k.endsWith('upsample.conv.weight'))).toEqual(['decoder.up.1.upsample.conv.weight']);
    expect(names.filter((k) => /^decoder\.up\.0\.block\.\d+\.conv1\.weight$/.test(k))).toHaveLength(2);
  });

  it('rejects configs the reference could not build, naming the field', async () => {
    for (const [config, argument] of [
      [{ ...SMALL, ch: 48 }, 'config.ch'],
      [{ ...SMALL, chMult: [1, 1.5] }, 'config.chMult[1]'],
      [{ ...SMALL, chMult: [] }, 'config.chMult'],
      [{ ...SMALL, quantConvKs: 2 }, 'config.quantConvKs'],
      [{ ...SMALL, zChannels: 0 }, 'config.zChannels'],
    ] as const) {
      const err = await thrown(() => VarVqvae.stateDictSpec(config));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).argument).toBe(argument);
    }
  });

  it("reads the reference constructor's keyword arguments, leaving the quantizer's alone", () => {
    const kwargs = { ch: 32, z_channels: 8, vocab_size: 64, beta: 0.25, v_patch_nums: [1, 2, 3, 4], quant_resi: 0.5 };
    expect(varVqvaeConfigFromReference(kwargs)).toEqual({
      ch: 32, zChannels: 8, vocabSize: 64, chMult: [1, 1, 2, 2, 4], numResBlocks: 2, usingSa: true, usingMidSa: true, quantConvKs: 3,
    });
    expect(varVqvaeConfigFromReference({ ...kwargs, quant_conv_ks: 1 }).quantConvKs).toBe(1);
  });
});

describe(`VarVqvae loading and input checks [${backendName()}]`, () => {
  it('loads, encodes, decodes and disposes without leaking; reports quantize.* as expected-unused', async () => {
    await expectNoLeaks(async () => {
      const vae = await VarVqvae.fromStateDict(memorySource(SMALL, { 'extra.weight': [2] }), SMALL);
      expect(vae.report).toEqual({
        missing: [],
        unused: ['extra.weight'],
        expectedUnused: ['quantize.embedding.weight'],
        ignored: ['quantize.ema_vocab_hit_SV'],
      });
      expect(vae.downsampleFactor).toBe(2);
      const img_BHWC = image([2, 8, 6, 3]);
      const e_BHWC = vae.encoderOut(img_BHWC);
      const f_BHWC = vae.encode(img_BHWC);
      const raw_BHWC = vae.decode(f_BHWC);
      const clamped_BHWC = vae.fhatToImage(f_BHWC);
      expect(e_BHWC.shape).toEqual([2, 4, 3, 4]);
      expect(f_BHWC.shape).toEqual([2, 4, 3, 4]);
      expect(raw_BHWC.shape).toEqual([2, 8, 6, 3]);
      const [raw, clamped] = await Promise.all([raw_BHWC.data(), clamped_BHWC.data()]);
      expect(Array.from(clamped)).toEqual(Array.from(raw, (v) => Math.min(1, Math.max(-1, v))));
      expect(raw.every(Number.isFinite)).toBe(true);
      tf.dispose([img_BHWC, e_BHWC, f_BHWC, raw_BHWC, clamped_BHWC]);
      vae.dispose();
    });
  });

  it("a tensor whose shape does not fit the config is core's ShapeError naming it, and nothing is left allocated", async () => {
    const name = 'decoder.up.0.block.0.nin_shortcut.weight';
    const err = await expectNoLeaks(() =>
      thrown(() => VarVqvae.fromStateDict(memorySource(SMALL, { [name]: [32, 64, 3, 3] }), SMALL)),
    );
    expect(err).toBeInstanceOf(ShapeError);
    expect((err as ShapeError).argument).toBe(name);
    expect((err as ShapeError).expected).toContain('[32, 64, 1, 1]');
    expect((err as ShapeError).actual).toContain('[32, 64, 3, 3]');
  });

  it('a checkpoint that lacks a CNN tensor is an InvalidArgumentError naming it', async () => {
    const err = await thrown(() => VarVqvae.fromStateDict(memorySource(SMALL, { 'post_quant_conv.bias': null }), SMALL));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).actual).toContain('post_quant_conv.bias');
  });

  it('rejects images and latents of the wrong shape or dtype, naming the argument, leak-free', async () => {
    const vae = await VarVqvae.fromStateDict(memorySource(SMALL), SMALL);
    type Method = 'encode' | 'encoderOut' | 'decode' | 'fhatToImage';
    const cases: Array<[string, Method, tf.Tensor, typeof InvalidArgumentError, string, RegExp, RegExp]> = [
      ['rank 3', 'encode', tf.zeros([8, 8, 3]), ShapeError, 'img_BHWC', /rank 4/, /rank 3/],
      ['NCHW', 'encode', tf.zeros([1, 3, 8, 8]), ShapeError, 'img_BHWC', /\[B, H, W, 3\]/, /\[1, 3, 8, 8\]/],
      ['odd height', 'encoderOut', tf.zeros([1, 7, 8, 3]), ShapeError, 'img_BHWC', /multiples of 2/, /\[1, 7, 8, 3\]/],
      ['int32', 'encode', tf.zeros([1, 8, 8, 3], 'int32'), DTypeError, 'img_BHWC', /float32/, /int32/],
      ['latent channels', 'decode', tf.zeros([1, 2, 2, 3]), ShapeError, 'fhat_BHWC', /\[B, h, w, 4\]/, /\[1, 2, 2, 3\]/],
      ['latent rank', 'fhatToImage', tf.zeros([2, 2, 4]), ShapeError, 'fhat_BHWC', /rank 4/, /rank 3/],
    ];
    for (const [what, method, input, type, argument, expected, actual] of cases) {
      const err = (await expectNoLeaks(() => thrown(() => vae[method](input as tf.Tensor4D)))) as InvalidArgumentError;
      expect(err, what).toBeInstanceOf(type);
      expect(err.argument, what).toBe(argument);
      expect(err.expected, what).toMatch(expected);
      expect(err.actual, what).toMatch(actual);
      input.dispose();
    }
    vae.dispose();
  });
});
