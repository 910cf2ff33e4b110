import * as tf from '@tensorflow/tfjs-core';
import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from '@zip.js/zip.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CheckpointFormatError,
  InvalidArgumentError,
  ShapeError,
  type TensorSource,
  UnsafePickleError,
  writeSafetensors,
} from '@nextdetail/core';
import { readSafetensorsFile, type SafetensorsFile } from '@nextdetail/core/node';
import { CartTokenizer } from '../src/cartTokenizer.js';
import { FlexVarTokenizer } from '../src/flexVarTokenizer.js';
import { fromPretrained as fromPretrainedNode } from '../src/node.js';
import { NvgTokenizer } from '../src/nvgTokenizer.js';
import { fromPretrained } from '../src/pretrained/fromPretrained.js';
import { flexVaeConfigFromShapes } from '../src/pretrained/flexVaeConfigFromShapes.js';
import { nvgAutoencoderConfigFromShapes } from '../src/pretrained/nvgConfigFromShapes.js';
import { VAR_256_PATCH_NUMS, varTokenizerConfigFromShapes } from '../src/pretrained/varConfigFromShapes.js';
import type { TokenPlan, Tokenizer } from '../src/tokenizer.js';
import { VarTokenizer, type VarTokenizerConfig, varTokenizerConfigFromReference } from '../src/varTokenizer.js';
import { FlexVae } from '../src/vqvae/flexVae.js';
import { type FlexVaeConfig, resolveFlexVaeConfig } from '../src/vqvae/flexVaeConfig.js';
import { NvgAutoencoder } from '../src/vqvae/nvgAutoencoder.js';
import { type NvgAutoencoderConfig, resolveNvgAutoencoderConfig } from '../src/vqvae/nvgAutoencoderConfig.js';
import { VarVqvae } from '../src/vqvae/varVqvae.js';
import { resolveVarVqvaeConfig } from '../src/vqvae/varVqvaeConfig.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { fixturePath, listFixtures } from '../../../test/fixtures.js';
import { maxAbsDiff, normals, syntheticSource, thrown } from './helpers.js';

type Raw = { shape: number[]; data: Float32Array };

/** A checkpoint of `cnn`'s shapes (smooth synthetic values) plus `extra` tensors, as plain float32 arrays. */
async function rawTensors(cnn: Record<string, number[]>, extra: Record<string, Raw> = {}): Promise<Record<string, Raw>> {
  const source = syntheticSource(cnn, 0.1);
  const out: Record<string, Raw> = {};
  for (const name of source.keys()) {
    const t = await source.tensor(name);
    out[name] = { shape: [...t.shape], data: Float32Array.from(await t.data()) };
    t.dispose();
  }
  return { ...out, ...extra };
}

function memory(tensors: Record<string, Raw>): TensorSource {
  return {
    keys: () => Object.keys(tensors),
    info: (name) => ({ dtype: 'F32', shape: tensors[name]!.shape }),
    tensor: async (name) => tf.tensor(tensors[name]!.data, tensors[name]!.shape),
  };
}

function safetensorsBytes(tensors: Record<string, Raw>, metadata?: Record<string, string>): Promise<Uint8Array> {
  return writeSafetensors(
    Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, data: t.data }])),
    metadata,
  );
}

/**
 * A minimal `torch.save` file (zip format, pickle protocol 2): an OrderedDict of contiguous float32 tensors, each
 * `torch._utils._rebuild_tensor_v2` of its own storage, optionally nested as `{nest: OrderedDict}` like FlexVAE.pth.
 */
async function torchSave(tensors: Record<string, Raw>, nest?: string): Promise<Uint8Array> {
  const bytes: number[] = [];
  const op = (...b: number[]) => bytes.push(...b);
  const str = (s: string) => {
    const utf8 = new TextEncoder().encode(s);
    op(0x58, ...new Uint8Array(Uint32Array.of(utf8.length).buffer), ...utf8);
  };
  const int = (n: number) => op(0x4a, ...new Uint8Array(Int32Array.of(n).buffer));
  const global = (module: string, name: string) => op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  const orderedDict = () => {
    global('collections', 'OrderedDict');
    op(0x29, 0x52);
  };
  op(0x80, 0x02);
  if (nest !== undefined) {
    op(0x7d);
    str(nest);
  }
  orderedDict();
  op(0x28);
  Object.entries(tensors).forEach(([name, t], i) => {
    str(name);
    global('torch._utils', '_rebuild_tensor_v2');
    op(0x28);
    op(0x28);
    str('storage');
    global('torch', 'FloatStorage');
    str(String(i));
    str('cpu');
    int(t.data.length);
    op(0x74, 0x51);
    int(0);
    op(0x28);
    t.shape.forEach(int);
    op(0x74, 0x28);
    t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1)).forEach(int);
    op(0x74, 0x89);
    orderedDict();
    op(0x74, 0x52);
  });
  op(0x75);
  if (nest !== undefined) op(0x73);
  op(0x2e);
  const zip = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false, level: 0 });
  await zip.add('archive/data.pkl', new Uint8ArrayReader(Uint8Array.from(bytes)));
  await zip.add('archive/byteorder', new Uint8ArrayReader(new TextEncoder().encode('little')));
  for (const [i, t] of Object.values(tensors).entries()) {
    await zip.add(`archive/data/${i}`, new Uint8ArrayReader(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
  }
  await zip.add('archive/version', new Uint8ArrayReader(new TextEncoder().encode('3\n')));
  return zip.close();
}

function images(b: number, h: number, w: number): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from({ length: b * h * w * 3 }, (_, i) => Math.sin(0.37 * i) * Math.cos(0.05 * i)), [b, h, w, 3]);
}

/** Both tokenizers encode the same images to the same ids and decode them to the same images. */
async function expectSameTokenizer(a: Tokenizer, b: Tokenizer, image: tf.Tensor4D): Promise<void> {
  expect(a.schedule()).toEqual(b.schedule());
  const pa: TokenPlan = await a.encode(image);
  const pb: TokenPlan = await b.encode(image);
  for (const [i, step] of pa.steps.entries()) {
    expect(Array.from(await step.idx_Bl.data())).toEqual(Array.from(await pb.steps[i]!.idx_Bl.data()));
  }
  const [ia, ib] = [a.decode(pa), b.decode(pb)];
  expect(await maxAbsDiff(ia, ib)).toBe(0);
  tf.dispose([pa, pb, ia, ib]);
}

// Tiny models: two levels (factor 2), one block per level.
const VAR_CONFIG: VarTokenizerConfig = {
  vae: { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 4, vocabSize: 16 },
  quantizer: { vocabSize: 16, cvae: 4, patchNums: [1, 2, 4], quantResi: 0.5, shareQuantResi: 4 },
};
const FLEX_VAE: FlexVaeConfig = { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 8, codebookEmbedDim: 4 };
const NVG_VAE: NvgAutoencoderConfig = { ch: 32, chMult: [1, 1], numResBlocks: 1, embedDim: 4 };

const shapesOf = (spec: Record<string, { shape: readonly number[] }>, prefix = '') =>
  Object.fromEntries(Object.entries(spec).map(([k, p]) => [prefix + k, [...p.shape]]));
const codebook = (): Record<string, Raw> => ({ 'quantize.embedding.weight': { shape: [16, 4], data: normals(64, 5) } });

async function varTensors(): Promise<Record<string, Raw>> {
  const shapes: Record<string, number[]> = shapesOf(VarVqvae.stateDictSpec(VAR_CONFIG.vae));
  for (let k = 0; k < 4; k++) {
    shapes[`quantize.quant_resi.qresi_ls.${k}.weight`] = [4, 4, 3, 3];
    shapes[`quantize.quant_resi.qresi_ls.${k}.bias`] = [4];
  }
  return rawTensors(shapes, codebook());
}

/** NVG's tiny autoencoder and five stages; `prefix` renames every tensor (the values stay those of the flat names). */
async function nvgTensors(prefix = ''): Promise<Record<string, Raw>> {
  const shapes: Record<string, number[]> = shapesOf(NvgAutoencoder.stateDictSpec(NVG_VAE));
  for (let s = 0; s < 5; s++) {
    shapes[`quantize.quant_resi.${s}.weight`] = [4, 4, 3, 3];
    shapes[`quantize.quant_resi.${s}.bias`] = [4];
  }
  const flat = await rawTensors(shapes, codebook());
  return Object.fromEntries(Object.entries(flat).map(([k, t]) => [prefix + k, t]));
}

const tmp = mkdtempSync(join(tmpdir(), 'nextdetail-pretrained-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Names and shapes only: what config inference reads. */
function shapesOnly(shapes: Record<string, number[]>): TensorSource {
  return {
    keys: () => Object.keys(shapes),
    info: (name) => ({ dtype: 'F32', shape: shapes[name]! }),
    tensor: () => Promise.reject(new Error('config inference must not read tensor data')),
  };
}

describe('configs read off the released checkpoints\' shapes', () => {
  it('vae_ch160v4096z32.pth: ch 160, chMult [1, 1, 2, 2, 4], 2 blocks, z 32, V 4096, 4 shared Phis, 10 scales', () => {
    const vae = { ch: 160, zChannels: 32, vocabSize: 4096 };
    const shapes: Record<string, number[]> = {
      ...shapesOf(VarVqvae.stateDictSpec(vae)),
      'quantize.embedding.weight': [4096, 32],
      'quantize.ema_vocab_hit_SV': [10, 4096],
    };
    for (let k = 0; k < 4; k++) {
      shapes[`quantize.quant_resi.qresi_ls.${k}.weight`] = [32, 32, 3, 3];
      shapes[`quantize.quant_resi.qresi_ls.${k}.bias`] = [32];
    }
    const config = varTokenizerConfigFromShapes(shapesOnly(shapes));
    expect(resolveVarVqvaeConfig(config.vae)).toEqual(resolveVarVqvaeConfig(vae));
    expect(config.quantizer).toEqual({ vocabSize: 4096, cvae: 32, patchNums: VAR_256_PATCH_NUMS, quantResi: 0.5, shareQuantResi: 4 });
  });

  it("FlexVAE.pth (flattened under model.) and NVG's ae.ckpt (flattened under state_dict.): their default configs", () => {
    const flex = shapesOnly({ ...shapesOf(FlexVae.stateDictSpec(), 'model.'), 'model.quantize.embedding.weight': [8912, 32] });
    expect(flexVaeConfigFromShapes(flex)).toEqual(resolveFlexVaeConfig());
    const nvg = shapesOnly({ ...shapesOf(NvgAutoencoder.stateDictSpec(), 'state_dict.'), 'state_dict.quantize.embedding.weight': [4096, 32] });
    expect(nvgAutoencoderConfigFromShapes(nvg)).toEqual(resolveNvgAutoencoderConfig());
  });

  it('names the tensor a config cannot be read from', async () => {
    const err = await thrown(() => flexVaeConfigFromShapes(shapesOnly({ 'encoder.conv_in.weight': [32, 3, 3, 3] })));
    expect([err instanceof InvalidArgumentError, (err as InvalidArgumentError).argument]).toEqual([true, 'checkpoint']);
    expect((err as InvalidArgumentError).actual).toMatch(/encoder\.conv_blocks\.0\.res\.0\.conv1\.weight/);
    const odd = await thrown(() =>
      nvgAutoencoderConfigFromShapes(shapesOnly({ 'encoder.conv_in.conv.weight': [32, 3, 3, 3], 'encoder.down.0.block.0.conv1.conv.weight': [48, 32, 3, 3] })),
    );
    expect((odd as ShapeError).argument).toBe('encoder.down.0.block.0.conv1.conv.weight');
  });
});

describe(`fromPretrained [${backendName()}]`, () => {
  it('VAR from in-memory safetensors (bytes, ArrayBuffer, Blob, URL): the geometry read off the shapes, the same tokenizer as the explicit config, leak-free', async () => {
    const tensors = await varTensors();
    const bytes = new Uint8Array(await safetensorsBytes(tensors));
    const reference = await VarTokenizer.fromStateDict(memory(tensors), VAR_CONFIG);
    const image = images(2, 8, 8);
    const fetch = (async () => new Response(bytes, { status: 200 })) as typeof globalThis.fetch;
    await expectNoLeaks(async () => {
      const inputs = [bytes, bytes.slice().buffer, new Blob([bytes]), 'https://example.invalid/vae.safetensors'];
      for (const input of inputs) {
        const tokenizer = await fromPretrained(input, { family: 'var', patchNums: [1, 2, 4], fetch });
        expect(tokenizer).toBeInstanceOf(VarTokenizer);
        expect(tokenizer.vae.config).toEqual(resolveVarVqvaeConfig(VAR_CONFIG.vae));
        expect(tokenizer.quantizer.shareQuantResi).toBe(4);
        await expectSameTokenizer(tokenizer, reference, image);
        tokenizer.dispose();
      }
    });
    tf.dispose(image);
    reference.dispose();
  });

  it('CART from the same safetensors with its decomposition order; a schedule the checkpoint contradicts is an error', async () => {
    const tensors = await varTensors();
    await expectNoLeaks(async () => {
      const cart = await fromPretrained(await safetensorsBytes(tensors), { family: 'cart', patchNums: [1, 2, 4], order: 1 });
      expect(cart).toBeInstanceOf(CartTokenizer);
      expect(cart.schedule().map((s) => s.kind)).toEqual(['base', 'base', 'base', 'detail']);
      cart.dispose();
      // Three scales recorded by the training buffer: the 10-scale default does not fit.
      const withBuffer = await safetensorsBytes({ ...tensors, 'quantize.ema_vocab_hit_SV': { shape: [3, 16], data: new Float32Array(48) } });
      const err = await thrown(() => fromPretrained(withBuffer, { family: 'var' }));
      expect((err as InvalidArgumentError).argument).toBe('options.patchNums');
      const ok = await fromPretrained(withBuffer, { family: 'var', patchNums: [1, 2, 4] });
      ok.dispose();
    });
  });

  it("FlexVAR from a torch.save file nested under ['model'] (as FlexVAE.pth), told apart by its bytes; the same tokenizer as the explicit config, leak-free", async () => {
    const tensors = await rawTensors(shapesOf(FlexVae.stateDictSpec(FLEX_VAE)), codebook());
    const pth = await torchSave(tensors, 'model');
    const reference = await FlexVarTokenizer.fromStateDict(memory(tensors), { vae: FLEX_VAE, patchNums: [1, 2, 4] });
    const image = images(1, 8, 8);
    await expectNoLeaks(async () => {
      const tokenizer = await fromPretrained(pth, { family: 'flexvar', patchNums: [1, 2, 4] });
      expect(tokenizer).toBeInstanceOf(FlexVarTokenizer);
      expect(tokenizer.vae.config).toEqual({ ...FLEX_VAE, chMult: [1, 2] });
      await expectSameTokenizer(tokenizer, reference, image);
      tokenizer.dispose();
    });
    tf.dispose(image);
    reference.dispose();
  });

  it('NVG from files by path and file: URL through the Node entry (flat and with a flattened state_dict. prefix), leak-free', async () => {
    const image = images(1, 8, 8);
    const reference = await NvgTokenizer.fromStateDict(memory(await nvgTensors()), { vae: NVG_VAE });
    for (const prefix of ['', 'state_dict.']) {
      const path = join(tmp, `ae${prefix ? '-prefixed' : ''}.bin`);
      writeFileSync(path, await safetensorsBytes(await nvgTensors(prefix)));
      await expectNoLeaks(async () => {
        for (const source of [path, pathToFileURL(path)]) {
          const tokenizer = await fromPretrainedNode(source, { family: 'nvg' });
          expect(tokenizer).toBeInstanceOf(NvgTokenizer);
          expect(tokenizer.vae.config).toEqual({ ...NVG_VAE, chMult: [1, 1] });
          expect(tokenizer.stages).toBe(5);
          await expectSameTokenizer(tokenizer, reference, image);
          tokenizer.dispose();
        }
      });
    }
    tf.dispose(image);
    reference.dispose();
  });

  it('rejects malformed and hostile files, unknown families and incomplete checkpoints with typed errors, leak-free', async () => {
    const tensors = await varTensors();
    const bytes = await safetensorsBytes(tensors);
    const hostile = fixturePath('hostile', 'os_system_seed0.pth');
    await expectNoLeaks(async () => {
      const garbage = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) % 251);
      expect(await thrown(() => fromPretrained(garbage, { family: 'var' }))).toBeInstanceOf(CheckpointFormatError);
      const truncated = bytes.slice(0, Math.floor(bytes.length / 2));
      expect(await thrown(() => fromPretrained(truncated, { family: 'var' }))).toBeInstanceOf(CheckpointFormatError);
      const legacy = await thrown(() => fromPretrained(Uint8Array.of(0x80, 0x02, 0x7d, 0x2e, 0, 0, 0, 0, 0, 0), { family: 'nvg' }));
      expect(legacy).toBeInstanceOf(CheckpointFormatError);
      expect((legacy as CheckpointFormatError).reason).toMatch(/bare pickle/);
      expect(await thrown(() => fromPretrainedNode(hostile, { family: 'flexvar' }))).toBeInstanceOf(UnsafePickleError);
      const family = await thrown(() => fromPretrained(bytes, { family: 'vq' } as unknown as { family: 'var' }));
      expect((family as InvalidArgumentError).argument).toBe('options.family');
      const { 'decoder.conv_out.weight': _, ...incomplete } = tensors;
      const missing = await thrown(async () => fromPretrained(await safetensorsBytes(incomplete), { family: 'var', patchNums: [1, 2, 4] }));
      expect((missing as InvalidArgumentError).argument).toBe('checkpoint');
      const misfit = await thrown(() =>
        fromPretrained(bytes, { family: 'var', config: { ...VAR_CONFIG, vae: { ...VAR_CONFIG.vae, zChannels: 8 } } }),
      );
      expect(misfit).toBeInstanceOf(ShapeError);
      const notFlex = await thrown(() => fromPretrained(bytes, { family: 'flexvar' }));
      expect((notFlex as InvalidArgumentError).argument).toBe('checkpoint');
      expect(await thrown(() => fromPretrainedNode(join(tmp, 'absent.safetensors'), { family: 'var' }))).toBeInstanceOf(InvalidArgumentError);
    });
  });
});

const fixtures: SafetensorsFile[] = [];
for (const path of listFixtures('reference', '.safetensors')) {
  const file = await readSafetensorsFile(path);
  if (file.metadata.kind === 'var_vqvae') fixtures.push(file);
  else await file.close();
}

describe(`fromPretrained on the VAR reference fixtures [${backendName()}]`, () => {
  it('finds var_vqvae fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  afterAll(() => Promise.all(fixtures.map((f) => f.close())));

  for (const file of fixtures) {
    const name = basename(file.name);
    it(`${name}: the shapes give the reference VQVAE arguments' config, and the file loads by path with its metadata, leak-free`, async () => {
      const { VQVAE } = JSON.parse(file.metadata.config_json ?? '{}') as { VQVAE: Record<string, unknown> };
      const reference = varTokenizerConfigFromReference(VQVAE);
      const patchNums = reference.quantizer.patchNums;
      const inferred = varTokenizerConfigFromShapes(file, { patchNums });
      expect(resolveVarVqvaeConfig(inferred.vae)).toEqual(resolveVarVqvaeConfig(reference.vae));
      expect(inferred.quantizer).toEqual(reference.quantizer);
      await expectNoLeaks(async () => {
        const tokenizer = await fromPretrainedNode(file.name, { family: 'var' });
        expect(tokenizer.schedule().map((s) => s.size)).toEqual(patchNums.map((pn) => (typeof pn === 'number' ? [pn, pn] : pn)));
        tokenizer.dispose();
      });
    });
  }
});
