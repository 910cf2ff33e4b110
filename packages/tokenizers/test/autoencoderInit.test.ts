import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { RandomGenerator } from '@nextdetail/core';
import { FlexVae } from '../src/vqvae/flexVae.js';
import { NvgAutoencoder } from '../src/vqvae/nvgAutoencoder.js';
import { parameterRole } from '../src/vqvae/parameterInit.js';
import type { ParameterSpecs } from '../src/vqvae/parameters.js';
import { VarVqvae } from '../src/vqvae/varVqvae.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { syntheticSource } from './helpers.js';

interface Family {
  name: string;
  spec: ParameterSpecs;
  fromConfig(rng: RandomGenerator): Autoencoder;
  fromStateDict(trainable: boolean): Promise<Autoencoder>;
}

interface Autoencoder {
  parameters: ReadonlyMap<string, tf.Tensor>;
  variables(): tf.Variable[];
  encode(img_BHWC: tf.Tensor4D): tf.Tensor4D;
  decode(z_BHWC: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

const varConfig = { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 4, vocabSize: 8 };
const flexConfig = { ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 32, codebookEmbedDim: 4 };
const nvgConfig = { ch: 24, chMult: [1, 2], numResBlocks: 1, embedDim: 4 };

const shapesOf = (spec: ParameterSpecs) => Object.fromEntries(Object.entries(spec).map(([k, p]) => [k, [...p.shape]]));

const FAMILIES: Family[] = [
  {
    name: 'VarVqvae',
    spec: VarVqvae.stateDictSpec(varConfig),
    fromConfig: (rng) => VarVqvae.fromConfig(varConfig, rng),
    fromStateDict: (trainable) => VarVqvae.fromStateDict(syntheticSource(shapesOf(VarVqvae.stateDictSpec(varConfig))), varConfig, { trainable }),
  },
  {
    name: 'FlexVae',
    spec: FlexVae.stateDictSpec(flexConfig),
    fromConfig: (rng) => FlexVae.fromConfig(flexConfig, rng),
    fromStateDict: (trainable) => FlexVae.fromStateDict(syntheticSource(shapesOf(FlexVae.stateDictSpec(flexConfig))), flexConfig, { trainable }),
  },
  {
    name: 'NvgAutoencoder',
    spec: NvgAutoencoder.stateDictSpec(nvgConfig),
    fromConfig: (rng) => NvgAutoencoder.fromConfig(nvgConfig, rng),
    fromStateDict: (trainable) =>
      NvgAutoencoder.fromStateDict(syntheticSource(shapesOf(NvgAutoencoder.stateDictSpec(nvgConfig))), nvgConfig, { trainable }),
  },
];

async function values(model: Autoencoder): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of model.parameters) out.set(name, (await t.data()) as Float32Array);
  return out;
}

describe(`autoencoders from a config with a seeded init [${backendName()}]`, () => {
  for (const family of FAMILIES) {
    it(`${family.name}: every spec entry becomes a trainable variable with PyTorch's default init, reproducible from the seed`, async () => {
      await expectNoLeaks(async () => {
        const [a, b, other] = [family.fromConfig(new RandomGenerator(7)), family.fromConfig(new RandomGenerator(7)), family.fromConfig(new RandomGenerator(8))];
        expect([...a.parameters.keys()].sort()).toEqual(Object.keys(family.spec).sort());
        expect(a.variables()).toHaveLength(Object.keys(family.spec).length);
        expect(a.variables().every((v) => v.trainable)).toBe(true);
        const [va, vb, vo] = [await values(a), await values(b), await values(other)];
        let differs = false;
        for (const [name, p] of Object.entries(family.spec)) {
          const x = va.get(name)!;
          expect(Array.from(x), name).toEqual(Array.from(vb.get(name)!));
          const role = parameterRole(family.spec, name);
          if (role === 'normWeight') expect(x.every((v) => v === 1), name).toBe(true);
          else if (role === 'normBias') expect(x.every((v) => v === 0), name).toBe(true);
          else {
            const weight = family.spec[`${name.slice(0, name.lastIndexOf('.'))}.weight`]!.shape;
            const bound = 1 / Math.sqrt(weight[1]! * weight[2]! * weight[3]!);
            expect(x.every((v) => Math.abs(v) <= bound), name).toBe(true);
            // Spread over the interval rather than collapsed to a point.
            expect(Math.max(...x) - Math.min(...x), name).toBeGreaterThan(p.shape.length === 1 && x.length < 4 ? 0 : bound / 2);
            if (Array.from(x).some((v, i) => v !== vo.get(name)![i])) differs = true;
          }
        }
        expect(differs).toBe(true);
        tf.dispose([a, b, other].map((m) => [...m.parameters.values()]).flat());
      });
    });

    it(`${family.name}: gradients of a reconstruction loss reach every variable`, async () => {
      await expectNoLeaks(async () => {
        const model = family.fromConfig(new RandomGenerator(3));
        const img = tf.tidy(() => tf.sin(tf.reshape(tf.range(0, 2 * 8 * 8 * 3), [2, 8, 8, 3])) as tf.Tensor4D);
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(model.decode(model.encode(img)), img))) as tf.Scalar);
        expect(Object.keys(grads)).toHaveLength(model.variables().length);
        const norms = await Promise.all(
          model.variables().map(async (v) => {
            const norm = tf.tidy(() => tf.sum(tf.abs(grads[v.name]!)));
            const [n] = await norm.data();
            norm.dispose();
            return n!;
          }),
        );
        expect(norms.every((n) => Number.isFinite(n))).toBe(true);
        // Every weight feeds the output (zero-initialised norm biases still get a gradient through the convs after them).
        expect(norms.filter((n) => n > 0).length).toBe(norms.length);
        tf.dispose([value, img, ...Object.values(grads)]);
        model.dispose();
      });
    });

    it(`${family.name}: fromStateDict holds tf.Variables only when asked to be trainable`, async () => {
      await expectNoLeaks(async () => {
        const frozen = await family.fromStateDict(false);
        const trainable = await family.fromStateDict(true);
        expect(frozen.variables()).toEqual([]);
        expect(trainable.variables()).toHaveLength(Object.keys(family.spec).length);
        const img = tf.tidy(() => tf.cos(tf.reshape(tf.range(0, 8 * 8 * 3), [1, 8, 8, 3])) as tf.Tensor4D);
        const [x, y] = tf.tidy(() => [frozen.decode(frozen.encode(img)), trainable.decode(trainable.encode(img))]);
        const [dx, dy] = [await x.data(), await y.data()];
        // The same weights; trainable convs on cpu and wasm add the bias after the conv rather than fused into it.
        expect(Math.max(...Array.from(dy, (v, i) => Math.abs(v - dx[i]!)))).toBeLessThan(1e-5);
        tf.dispose([img, x, y]);
        frozen.dispose();
        trainable.dispose();
      });
    });
  }
});
