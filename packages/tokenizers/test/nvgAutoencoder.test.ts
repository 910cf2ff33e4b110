import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, loadStateDict, ShapeError, type TensorSource } from '@nextdetail/core';
import { NvgAutoencoder } from '../src/vqvae/nvgAutoencoder.js';
import { NVG_BLOCK_STYLE, type NvgAutoencoderConfig } from '../src/vqvae/nvgAutoencoderConfig.js';
import type { ParameterSpecs } from '../src/vqvae/parameters.js';
import { ResnetBlock } from '../src/vqvae/resnetBlock.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { syntheticSource, thrown } from './helpers.js';

/** Three levels (factor 4), one block per level, widths 24 and 48: GroupNorm falls back to 24 groups everywhere. */
const SMALL: NvgAutoencoderConfig = { ch: 24, chMult: [1, 2, 2], numResBlocks: 1, embedDim: 4 };

/**
 * An in-memory checkpoint in PyTorch layout with deterministic values (GroupNorm scales near 1, each tensor its own
 * phase so that swapped tensors change the result): `spec`'s tensors under `prefix`, plus `shapes`.
 */
function memorySource(spec: ParameterSpecs, prefix: string, shapes: Record<string, number[]> = {}, amplitude = 0.05): TensorSource {
  const all: Record<string, number[]> = {
    ...Object.fromEntries(Object.entries(spec).map(([k, p]) => [prefix + k, [...p.shape]])),
    ...shapes,
  };
  return syntheticSource(all, amplitude);
}

function checkpoint(config: NvgAutoencoderConfig, prefix: string, shapes: Record<string, number[]> = {}): TensorSource {
  return memorySource(NvgAutoencoder.stateDictSpec(config), prefix, {
    [`${prefix}quantize.embedding.weight`]: [16, config.embedDim ?? 32],
    [`${prefix}quantize.quant_resi.0.weight`]: [4, 4, 3, 3],
    [`${prefix}total_visited_codes`]: [16],
    ...shapes,
  });
}

function image(shape: [number, number, number, number]): tf.Tensor4D {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: size }, (_, i) => Math.sin(0.31 * i)), shape);
}


const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const conv = (i: number, o: number, k: number): number => o * i * k * k + o;
const norm = (c: number): number => 2 * c;
const res = (i: number, o: number): number => norm(i) + conv(i, o, 3) + norm(o) + conv(o, o, 3) + (i !== o ? conv(i, o, 1) : 0);

describe('NvgAutoencoder.stateDictSpec', () => {
  const spec = NvgAutoencoder.stateDictSpec();
  const names = Object.keys(spec);
  const count = (prefix: string): number =>
    Object.entries(spec).reduce((n, [k, p]) => n + (k.startsWith(prefix) ? numel(p.shape) : 0), 0);

  it('uses the wrapped key names of digest §3.2, with the shapes of vq-f16-d32', () => {
    expect(spec['encoder.conv_in.conv.weight']).toEqual({ shape: [128, 3, 3, 3], transform: 'conv2d' });
    expect(spec['encoder.down.0.block.0.norm1.norm.weight']).toEqual({ shape: [128] });
    expect(spec['encoder.down.0.block.0.conv1.conv.weight']?.shape).toEqual([128, 128, 3, 3]);
    expect(spec['encoder.down.0.downsample.conv.conv.weight']?.shape).toEqual([128, 128, 3, 3]);
    expect(spec['encoder.down.1.block.0.nin_shortcut.conv.weight']?.shape).toEqual([256, 128, 1, 1]);
    expect(spec['encoder.down.2.block.0.nin_shortcut.conv.weight']?.shape).toEqual([512, 256, 1, 1]);
    expect(spec['encoder.norm_out.norm.bias']).toEqual({ shape: [512] });
    expect(spec['encoder.conv_out.conv.weight']?.shape).toEqual([32, 512, 3, 3]);
    expect(spec['decoder.conv_in.conv.weight']?.shape).toEqual([512, 32, 3, 3]);
    expect(spec['decoder.up.4.upsample.conv.conv.weight']?.shape).toEqual([512, 512, 3, 3]);
    expect(spec['decoder.up.1.block.0.nin_shortcut.conv.weight']?.shape).toEqual([256, 512, 1, 1]);
    expect(spec['decoder.up.0.block.0.nin_shortcut.conv.weight']?.shape).toEqual([128, 256, 1, 1]);
    expect(spec['decoder.conv_out.conv.weight']?.shape).toEqual([3, 128, 3, 3]);
    expect(names.every((k) => /\.(conv|norm)\.(weight|bias)$/.test(k))).toBe(true);
    expect(names.filter((k) => k.includes('nin_shortcut.conv.weight'))).toHaveLength(4);
    // No attention anywhere, no quant_conv / post_quant_conv, no resampling past the ends.
    expect(names.filter((k) => /attn|quant_conv/.test(k))).toEqual([]);
    expect(names.some((k) => k.startsWith('encoder.down.4.downsample') || k.startsWith('decoder.up.0.upsample'))).toBe(false);
  });

  it('parameter counts per level follow the digest §3.2 block lists', () => {
    const resample = (c: number): number => conv(c, c, 3);
    expect(count('encoder.conv_in.')).toBe(conv(3, 128, 3));
    expect(count('encoder.down.0.')).toBe(2 * res(128, 128) + resample(128));
    expect(count('encoder.down.1.')).toBe(res(128, 256) + res(256, 256) + resample(256));
    expect(count('encoder.down.2.')).toBe(res(256, 512) + res(512, 512) + resample(512));
    expect(count('encoder.down.3.')).toBe(2 * res(512, 512) + resample(512));
    expect(count('encoder.down.4.')).toBe(2 * res(512, 512));
    expect(count('encoder.mid.')).toBe(2 * res(512, 512));
    expect(count('encoder.norm_out.') + count('encoder.conv_out.')).toBe(norm(512) + conv(512, 32, 3));
    expect(count('decoder.conv_in.')).toBe(conv(32, 512, 3));
    expect(count('decoder.mid.')).toBe(2 * res(512, 512));
    for (const level of [4, 3, 2]) expect(count(`decoder.up.${level}.`)).toBe(3 * res(512, 512) + resample(512));
    expect(count('decoder.up.1.')).toBe(res(512, 256) + 2 * res(256, 256) + resample(256));
    expect(count('decoder.up.0.')).toBe(res(256, 128) + 2 * res(128, 128));
    expect(count('decoder.norm_out.') + count('decoder.conv_out.')).toBe(norm(128) + conv(128, 3, 3));
  });

  it('rejects widths that split into neither 32 nor 24 groups, naming the field', async () => {
    for (const [config, argument] of [
      [{ ...SMALL, ch: 40 }, 'config.ch'],
      [{ ...SMALL, chMult: [1, 0] }, 'config.chMult[1]'],
      [{ ...SMALL, embedDim: 0 }, 'config.embedDim'],
      [{ ...SMALL, numResBlocks: 0 }, 'config.numResBlocks'],
    ] as const) {
      const err = await thrown(() => NvgAutoencoder.stateDictSpec(config));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).argument).toBe(argument);
    }
  });
});

/** PyTorch-layout float64 arrays: x [C][H·W] for one image, conv weights [O][I][k][k] flattened. */
type Planes = Float64Array[];

function groupNorm64(x: Planes, gamma: Float64Array, beta: Float64Array, groups: number): Planes {
  const perGroup = x.length / groups;
  const out: Planes = x.map((p) => new Float64Array(p.length));
  for (let g = 0; g < groups; g++) {
    const members = x.slice(g * perGroup, (g + 1) * perGroup);
    const n = members.length * members[0]!.length;
    const mean = members.reduce((a, p) => a + p.reduce((b, v) => b + v, 0), 0) / n;
    const variance = members.reduce((a, p) => a + p.reduce((b, v) => b + (v - mean) ** 2, 0), 0) / n;
    for (let j = 0; j < perGroup; j++) {
      const c = g * perGroup + j;
      x[c]!.forEach((v, i) => (out[c]![i] = ((v - mean) / Math.sqrt(variance + 1e-6)) * gamma[c]! + beta[c]!));
    }
  }
  return out;
}

const silu64 = (x: Planes): Planes => x.map((p) => p.map((v) => v / (1 + Math.exp(-v))));

function conv64(x: Planes, H: number, W: number, weight: Float64Array, bias: Float64Array, k: number): Planes {
  const I = x.length;
  const O = bias.length;
  const pad = (k - 1) / 2;
  return Array.from({ length: O }, (_, o) => {
    const out = new Float64Array(H * W).fill(bias[o]!);
    for (let i = 0; i < I; i++) {
      for (let dy = 0; dy < k; dy++) {
        for (let dx = 0; dx < k; dx++) {
          const w = weight[((o * I + i) * k + dy) * k + dx]!;
          for (let y = 0; y < H; y++) {
            const sy = y + dy - pad;
            if (sy < 0 || sy >= H) continue;
            for (let xx = 0; xx < W; xx++) {
              const sx = xx + dx - pad;
              if (sx >= 0 && sx < W) out[y * W + xx]! += w * x[i]![sy * W + sx]!;
            }
          }
        }
      }
    }
    return out;
  });
}

describe(`NvgAutoencoder loading and shapes [${backendName()}]`, () => {
  it('one wrapped ResnetBlock (48→64: 24 then 32 groups) matches a float64 reference fed from the named tensors', async () => {
    const [B, H, W, I, O] = [2, 3, 5, 48, 64];
    const name = 'encoder.down.1.block.0';
    const spec = ResnetBlock.spec(NVG_BLOCK_STYLE, name, I, O);
    const source = memorySource(spec, '', {}, 0.3);
    const w = async (module: string): Promise<Float64Array> => {
      const t = await source.tensor(`${name}.${module}`);
      const values = Float64Array.from(await t.data());
      t.dispose();
      return values;
    };
    const x_BHWC = image([B, H, W, I]);
    const xs = await x_BHWC.data();
    const actual = await expectNoLeaks(async () => {
      const { tensors } = await loadStateDict(source, spec);
      const block = ResnetBlock.load(NVG_BLOCK_STYLE, tensors, name, I, O);
      const out_BHWC = block.apply(x_BHWC);
      expect(out_BHWC.shape).toEqual([B, H, W, O]);
      const values = await out_BHWC.data();
      tf.dispose(out_BHWC);
      block.dispose();
      return values;
    });
    for (let b = 0; b < B; b++) {
      const x: Planes = Array.from({ length: I }, (_, c) => Float64Array.from({ length: H * W }, (_, i) => xs[(b * H * W + i) * I + c]!));
      // 48 channels split into 24 groups (not a multiple of 32), 64 into 32.
      const n1 = groupNorm64(x, await w('norm1.norm.weight'), await w('norm1.norm.bias'), 24);
      const h1 = conv64(silu64(n1), H, W, await w('conv1.conv.weight'), await w('conv1.conv.bias'), 3);
      const n2 = groupNorm64(h1, await w('norm2.norm.weight'), await w('norm2.norm.bias'), 32);
      const h2 = conv64(silu64(n2), H, W, await w('conv2.conv.weight'), await w('conv2.conv.bias'), 3);
      const shortcut = conv64(x, H, W, await w('nin_shortcut.conv.weight'), await w('nin_shortcut.conv.bias'), 1);
      let worst = 0;
      for (let o = 0; o < O; o++) {
        for (let i = 0; i < H * W; i++) {
          worst = Math.max(worst, Math.abs(actual[(b * H * W + i) * O + o]! - (shortcut[o]![i]! + h2[o]![i]!)));
        }
      }
      expect(worst).toBeLessThan(2e-4);
    }
    x_BHWC.dispose();
  });

  for (const prefix of ['', 'state_dict.']) {
    it(`loads ${prefix ? `names under "${prefix}"` : 'unprefixed names'}, encodes and decodes a non-square batch, leak-free`, async () => {
      await expectNoLeaks(async () => {
        const ae = await NvgAutoencoder.fromStateDict(checkpoint(SMALL, prefix, { [`${prefix}loss.logvar`]: [1] }), SMALL);
        expect(ae.report).toEqual({
          missing: [],
          unused: [`${prefix}loss.logvar`],
          expectedUnused: [`${prefix}quantize.embedding.weight`, `${prefix}quantize.quant_resi.0.weight`],
          ignored: [`${prefix}total_visited_codes`],
        });
        expect(ae.downsampleFactor).toBe(4);
        const img_BHWC = image([2, 8, 12, 3]);
        const z_BHWC = ae.encode(img_BHWC);
        expect(z_BHWC.shape).toEqual([2, 2, 3, 4]);
        const out_BHWC = ae.decode(z_BHWC);
        expect(out_BHWC.shape).toEqual([2, 8, 12, 3]);
        expect((await out_BHWC.data()).every(Number.isFinite)).toBe(true);
        tf.dispose([img_BHWC, z_BHWC, out_BHWC]);
        ae.dispose();
      });
    });
  }

  it('clamps the decoder output to [−1, 1]', async () => {
    const source = checkpoint(SMALL, '');
    const biased: TensorSource = {
      ...source,
      tensor: async (name) => (name === 'decoder.conv_out.conv.bias' ? tf.tensor1d([5, -5, 0]) : source.tensor(name)),
    };
    const ae = await NvgAutoencoder.fromStateDict(biased, SMALL);
    const z_BHWC = image([1, 2, 3, 4]);
    const out_BHWC = ae.decode(z_BHWC);
    const values = await out_BHWC.data();
    // Channel 0 saturates at +1 and channel 1 at −1.
    expect(values.filter((_, i) => i % 3 === 0).every((v) => v === 1)).toBe(true);
    expect(values.filter((_, i) => i % 3 === 1).every((v) => v === -1)).toBe(true);
    expect(values.every((v) => Math.abs(v) <= 1)).toBe(true);
    tf.dispose([z_BHWC, out_BHWC]);
    ae.dispose();
  });

  it("a tensor whose shape does not fit the config is core's ShapeError naming the wrapped key, leak-free", async () => {
    const name = 'state_dict.encoder.down.0.block.0.conv1.conv.weight';
    const err = await expectNoLeaks(() =>
      thrown(() => NvgAutoencoder.fromStateDict(checkpoint(SMALL, 'state_dict.', { [name]: [24, 24, 1, 1] }), SMALL)),
    );
    expect(err).toBeInstanceOf(ShapeError);
    expect((err as ShapeError).argument).toBe(name);
    expect((err as ShapeError).expected).toContain('[24, 24, 3, 3]');
    expect((err as ShapeError).actual).toContain('[24, 24, 1, 1]');
  });

  it('rejects images and latents of the wrong shape, naming the argument', async () => {
    const ae = await NvgAutoencoder.fromStateDict(checkpoint(SMALL, ''), SMALL);
    const cases: Array<['encode' | 'decode', tf.Tensor, string, RegExp]> = [
      ['encode', tf.zeros([1, 8, 6, 3]), 'img_BHWC', /multiples of 4/],
      ['decode', tf.zeros([1, 2, 2, 32]), 'z_BHWC', /\[B, h, w, 4\]/],
      ['decode', tf.zeros([2, 2, 4]), 'z_BHWC', /rank 4/],
    ];
    for (const [method, input, argument, expected] of cases) {
      const err = (await expectNoLeaks(() => thrown(() => ae[method](input as tf.Tensor4D)))) as ShapeError;
      expect(err).toBeInstanceOf(ShapeError);
      expect(err.argument).toBe(argument);
      expect(err.expected).toMatch(expected);
      input.dispose();
    }
    ae.dispose();
  });
});
