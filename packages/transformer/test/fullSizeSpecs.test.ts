import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { IGNORABLE_BUFFERS, type TensorSource } from '@nextdetail/core';
import { FlexVarGenerator, flexVarConfigForDepth, flexVarConfigFromStateDict } from '../src/flexVarGenerator.js';
import { VarGenerator, varConfigForDepth, varConfigFromStateDict } from '../src/varGenerator.js';

// The released checkpoints' key sets (reference-digest §1.2, §1.7, §2.3, §2.7), written out here from the digest's
// tables, against the specs the builders derive. Nothing is allocated: specs and shapes only.

type Shapes = Record<string, number[]>;

function officialVarKeys(depth: number, sharedAln: boolean, patchNums: number[]): Shapes {
  const C = 64 * depth;
  const L = patchNums.reduce((a, p) => a + p * p, 0);
  const keys: Shapes = {
    pos_start: [1, 1, C],
    pos_1LC: [1, L, C],
    lvl_1L: [1, L],
    attn_bias_for_masking: [1, 1, L, L],
    'word_embed.weight': [C, 32],
    'word_embed.bias': [C],
    'class_emb.weight': [1001, C],
    'lvl_embed.weight': [patchNums.length, C],
    'head_nm.ada_lin.1.weight': [2 * C, C],
    'head_nm.ada_lin.1.bias': [2 * C],
    'head.weight': [4096, C],
    'head.bias': [4096],
  };
  if (sharedAln) Object.assign(keys, { 'shared_ada_lin.1.weight': [6 * C, C], 'shared_ada_lin.1.bias': [6 * C] });
  for (let i = 0; i < depth; i++) Object.assign(keys, blockKeys(i, C, depth, sharedAln));
  return keys;
}

function blockKeys(i: number, C: number, H: number, sharedAln: boolean): Shapes {
  const b = `blocks.${i}`;
  return {
    [`${b}.attn.scale_mul_1H11`]: [1, H, 1, 1],
    [`${b}.attn.q_bias`]: [C],
    [`${b}.attn.v_bias`]: [C],
    [`${b}.attn.zero_k_bias`]: [C],
    [`${b}.attn.mat_qkv.weight`]: [3 * C, C],
    [`${b}.attn.proj.weight`]: [C, C],
    [`${b}.attn.proj.bias`]: [C],
    [`${b}.ffn.fc1.weight`]: [4 * C, C],
    [`${b}.ffn.fc1.bias`]: [4 * C],
    [`${b}.ffn.fc2.weight`]: [C, 4 * C],
    [`${b}.ffn.fc2.bias`]: [C],
    ...(sharedAln
      ? { [`${b}.ada_gss`]: [1, 1, 6, C] }
      : { [`${b}.ada_lin.1.weight`]: [6 * C, C], [`${b}.ada_lin.1.bias`]: [6 * C] }),
  };
}

function officialFlexVarKeys(depth: number): Shapes {
  const C = 64 * depth;
  const keys: Shapes = {
    pos_start: [1, 1, C],
    pos_1LC: [1, C, 32, 32],
    attn_bias_for_masking: [1, 1, 680, 680],
    'word_embed.weight': [C, 32],
    'word_embed.bias': [C],
    'class_emb.weight': [1001, C],
    'head_nm.ada_lin.1.weight': [2 * C, C],
    'head_nm.ada_lin.1.bias': [2 * C],
    'head.weight': [8912, C],
    'head.bias': [8912],
  };
  for (let i = 0; i < depth; i++) Object.assign(keys, blockKeys(i, C, depth, false));
  return keys;
}

const isBuffer = (name: string) => IGNORABLE_BUFFERS.includes(name.slice(name.lastIndexOf('.') + 1));

/** Every official key is a spec'd parameter of the same shape or an ignorable buffer, and the spec asks for no more. */
function expectSpecMatches(spec: Record<string, { shape: readonly number[] }>, official: Shapes): void {
  const params = Object.keys(official).filter((k) => !isBuffer(k));
  expect(Object.keys(spec).sort()).toEqual(params.sort());
  for (const k of params) expect([...spec[k]!.shape], k).toEqual(official[k]);
}

const paramCount = (spec: Record<string, { shape: readonly number[] }>) =>
  Object.values(spec).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);

/** A TensorSource with the official shapes; only `lvl_1L` can be read (all else would allocate gigabytes). */
function shapeOnlySource(official: Shapes, patchNums: number[]): TensorSource {
  return {
    keys: () => Object.keys(official),
    info: (name) => ({ dtype: name === 'lvl_1L' ? 'I64' : 'F32', shape: official[name]! }),
    tensor: async (name) => {
      if (name !== 'lvl_1L') throw new Error(`test source: ${name} is not readable`);
      return tf.tensor2d([patchNums.flatMap((pn, si) => Array.from({ length: pn * pn }, () => si))], undefined, 'int32');
    },
  };
}

const VAR_256 = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];
const VAR_512 = [1, 2, 3, 4, 6, 9, 13, 18, 24, 32];

describe('full-size VAR specs (d16, d20, d24, d30, d36)', () => {
  const released: Array<[number, number, number]> = [
    [16, 220, 310_283_520],
    [20, 272, 600_917_136],
    [24, 324, 1_033_399_360],
    [30, 402, 2_010_020_356],
    [36, 446, 2_353_893_904],
  ];
  for (const [depth, tensors, params] of released) {
    it(`var_d${depth}.pth: the spec maps the official ${tensors} keys completely, ${params} parameters`, async () => {
      const c = varConfigForDepth(depth);
      const patchNums = depth === 36 ? VAR_512 : VAR_256;
      expect(c.width).toBe(64 * depth);
      expect(c.heads).toBe(depth);
      expect(c.sharedAdaLn).toBe(depth === 36);
      expect(c.patchNums).toEqual(patchNums);
      const official = officialVarKeys(depth, depth === 36, patchNums);
      expect(Object.keys(official).length).toBe(tensors);
      const spec = VarGenerator.stateDictSpec(c);
      expectSpecMatches(spec, official);
      expect(paramCount(spec)).toBe(params);
      const derived = await varConfigFromStateDict(shapeOnlySource(official, patchNums));
      expect(derived).toEqual(c);
    });
  }
});

describe('full-size FlexVAR specs (d16, d20, d24)', () => {
  const released: Array<[number, number]> = [
    [16, 315_561_936],
    [20, 607_513_952],
    [24, 1_041_314_576],
  ];
  for (const [depth, params] of released) {
    it(`FlexVARd${depth}: the spec maps the official keys completely, ${params} parameters; also under a "model." prefix`, () => {
      const c = flexVarConfigForDepth(depth);
      expect(c.vocabSize).toBe(8912);
      expect(c.positionSide).toBe(32);
      const official = officialFlexVarKeys(depth);
      const spec = FlexVarGenerator.stateDictSpec(c);
      expectSpecMatches(spec, official);
      expect(paramCount(spec)).toBe(params);
      expect(flexVarConfigFromStateDict(shapeOnlySource(official, []))).toEqual(c);
      const nested = Object.fromEntries(Object.entries(official).map(([k, v]) => [`model.${k}`, v]));
      expect(flexVarConfigFromStateDict(shapeOnlySource(nested, []), 'model.')).toEqual(c);
    });
  }
});
