import * as tf from '@tensorflow/tfjs-core';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, RandomGenerator, ShapeError } from '@nextdetail/core';
import { GranularityQuantizer } from '@nextdetail/tokenizers';
import { NvgGenerator } from '../../transformer/src/nvg/nvgGenerator.js';
import { linspace } from '../src/guidance/guidanceWeights.js';
import { nvgGenerate } from '../src/nvg/nvgGenerate.js';
import { nvgStage } from '../src/nvg/nvgStage.js';
import { backendName, expectNoLeaks } from '../../../test/backend.js';
import { compare, mismatches, nvgFixtures, stagesOf } from '../../transformer/test/nvgFixture.js';
import { int32Tensor, nvgSpec } from './nvgFixture.js';

// The free-running trace has S − 2 stages of 25 guided flow steps (two structure passes each): minutes on a CPU-only
// backend. The full loop runs on wasm, the fastest backend here; every backend replays the stages without a flow.
const FULL_LOOP_BACKENDS = ['wasm'];

const files = await nvgFixtures();

describe(`NVG free-running generation vs the NVG reference [${backendName()}]`, () => {
  it('finds at least one nvg fixture', () => expect(files.length).toBeGreaterThan(0));
});

for (const file of files) {
  const name = basename(file.name);
  const spec = nvgSpec(file).free_running;

  describe(`${name} [${backendName()}]`, () => {
    let generator: NvgGenerator;
    let quantizer: GranularityQuantizer;
    let classLabels_B: tf.Tensor;
    let noise_BPW: tf.Tensor;
    let contentCfg: number[];
    let structureCfg: number[];

    beforeAll(async () => {
      generator = await NvgGenerator.fromStateDict(file);
      quantizer = await GranularityQuantizer.fromStateDict(file);
      classLabels_B = await int32Tensor(file, 'in.label');
      noise_BPW = await file.tensor('in.structure_noise');
      contentCfg = linspace(...spec.content_cfg_linspace);
      structureCfg = linspace(...spec.structure_cfg_linspace);
    });

    afterAll(async () => {
      generator?.dispose();
      quantizer?.dispose();
      tf.dispose([classLabels_B, noise_BPW]);
      await file.close();
    });

    /** The recorded tokens of the stages before `stage` (later rows zero) and the label map entering it. */
    async function recordedInputs(stage: number): Promise<{ tokens_BSP: tf.Tensor; labels_BP: tf.Tensor }> {
      const preds: tf.Tensor[] = [];
      const c = generator.config;
      for (let s = 0; s < c.stages; s++) {
        preds.push(s < stage ? await int32Tensor(file, `out.gen.pred.${s}`) : tf.zeros([classLabels_B.shape[0], c.positions], 'int32'));
      }
      const tokens_BSP = tf.stack(preds, 1);
      tf.dispose(preds);
      return { tokens_BSP, labels_BP: await int32Tensor(file, `out.gen.structure_in.${stage}`) };
    }

    it(`${name}: spec_json gives one CFG scale per stage and greedy tokens`, () => {
      expect(contentCfg.length).toBe(generator.config.stages);
      expect(structureCfg.length).toBe(generator.config.stages);
      expect(spec.top_k).toBe(1);
      expect(spec.use_gumbel_topk).toBe(false);
    });

    // The stages whose split needs no flow (from the structure generator's stage count on): cheap on every backend.
    const stages = stagesOf(file, 'out.gen.pred.');
    const structureStages = file.info('nvgformer.structure_stage_embed.weight').shape[0]!;
    for (const s of stages.filter((stage) => stage >= structureStages)) {
      it(`${name}: guided stage ${s} replayed from the trace reproduces out.gen.logits.${s}, out.gen.pred.${s} and the next structure or out.gen.canvas_final, leak-free`, { timeout: 600_000 }, async () => {
        const found = await expectNoLeaks(async () => {
          const { tokens_BSP, labels_BP } = await recordedInputs(s);
          const result = await nvgStage(
            generator,
            quantizer,
            { tokens_BSP, labels_BP, classLabels_B, stage: s, structureNoise_BPW: noise_BPW },
            { contentCfg: contentCfg[s]!, structureCfg: structureCfg[s]!, structureSteps: spec.structure_sampling_step, topK: spec.top_k },
          );
          const expectedLogits = await file.tensor(`out.gen.logits.${s}`);
          const expectedPred = await int32Tensor(file, `out.gen.pred.${s}`);
          const logits = await compare(result.logits_BKV, expectedLogits);
          const pred = await mismatches(result.tokens_BP, expectedPred);
          let next: number[] | { maxError: number; ok: boolean };
          if (result.nextLabels_BP) {
            const expectedNext = await int32Tensor(file, `out.gen.structure_in.${s + 1}`);
            next = await mismatches(result.nextLabels_BP, expectedNext);
            expectedNext.dispose();
          } else {
            const expectedCanvas = await file.tensor('out.gen.canvas_final');
            next = await compare(result.canvas_BPC, expectedCanvas);
            expectedCanvas.dispose();
          }
          tf.dispose([tokens_BSP, labels_BP, expectedLogits, expectedPred, result.logits_BKV, result.tokens_BP, result.tokens_BSP, result.canvas_BPC]);
          result.nextLabels_BP?.dispose();
          return { logits, pred, next };
        });
        console.log(`[${backendName()}] ${name} gen stage ${s}: logits max error ${found.logits.maxError}, ${found.pred.length} token mismatch(es)`);
        expect(found.logits.ok, `logits max error ${found.logits.maxError}`).toBe(true);
        expect(found.pred.length).toBe(0);
        if (Array.isArray(found.next)) expect(found.next.length, 'next structure').toBe(0);
        else expect(found.next.ok, `canvas_final max error ${found.next.maxError}`).toBe(true);
      });
    }

    it(`${name}: a sampled stage (top-p 0.5, Gumbel splits) is reproducible from its seed and draws tokens in [0, V), leak-free`, { timeout: 600_000 }, async () => {
      const s = generator.config.structureStages;
      const run = async (seed: number) =>
        expectNoLeaks(async () => {
          const { tokens_BSP, labels_BP } = await recordedInputs(s);
          const rng = new RandomGenerator(seed);
          const result = await nvgStage(
            generator,
            quantizer,
            { tokens_BSP, labels_BP, classLabels_B, stage: s, structureNoise_BPW: noise_BPW },
            { contentCfg: contentCfg[s]!, structureCfg: null, structureSteps: 1, topP: 0.5, rng, gumbel: rng },
          );
          const values = { tokens: Array.from(await result.tokens_BP.data()), next: Array.from(await result.nextLabels_BP!.data()) };
          tf.dispose([tokens_BSP, labels_BP, result.logits_BKV, result.tokens_BP, result.tokens_BSP, result.canvas_BPC, result.nextLabels_BP!]);
          return values;
        });
      const [a, again] = [await run(4), await run(4)];
      expect(a).toEqual(again);
      expect(a.tokens.every((t) => t >= 0 && t < generator.config.vocabSize)).toBe(true);
      // Every stage-s cluster is split into two halves of equal size.
      const counts = new Map<number, number>();
      for (const l of a.next) counts.set(l, (counts.get(l) ?? 0) + 1);
      expect(new Set(counts.values()).size).toBe(1);
    });

    it(`${name}: nvgGenerate refuses bad options with typed errors, leak-free`, async () => {
      await expectNoLeaks(async () => {
        const wrongNoise = tf.zeros([1, generator.config.positions, generator.config.structureBits]);
        await expect(nvgGenerate(generator, quantizer, classLabels_B, { contentCfg: [1, 2, 3] })).rejects.toThrow(InvalidArgumentError);
        await expect(nvgGenerate(generator, quantizer, classLabels_B, { topK: 1 })).rejects.toThrow(/rng/);
        await expect(nvgGenerate(generator, quantizer, classLabels_B, { structureNoise_BPW: wrongNoise })).rejects.toThrow(ShapeError);
        await expect(
          nvgGenerate(generator, quantizer, classLabels_B, { structureNoise_BPW: noise_BPW, gumbelSplits: true }),
        ).rejects.toThrow(InvalidArgumentError);
        wrongNoise.dispose();
      });
    });

    if (FULL_LOOP_BACKENDS.includes(backendName())) {
      it(`${name}: the free-running loop (${spec.structure_sampling_step} flow steps, CFG) reproduces every out.gen.* key, leak-free`, { timeout: 1_800_000 }, async () => {
        const report = await expectNoLeaks(async () => {
          const gen = await nvgGenerate(generator, quantizer, classLabels_B, {
            contentCfg,
            structureCfg,
            structureSteps: spec.structure_sampling_step,
            topK: spec.top_k,
            structureNoise_BPW: noise_BPW,
            rng: new RandomGenerator(0),
          });
          const lines: string[] = [];
          const failures: string[] = [];
          const labelsByStage = tf.unstack(gen.labels_BSP, 1);
          const tokensByStage = tf.unstack(gen.tokens_BSP, 1);
          for (const s of stages) {
            const expectedIn = await int32Tensor(file, `out.gen.structure_in.${s}`);
            const expectedPred = await int32Tensor(file, `out.gen.pred.${s}`);
            const expectedLogits = await file.tensor(`out.gen.logits.${s}`);
            const structureIn = (await mismatches(labelsByStage[s]!, expectedIn)).length;
            const pred = (await mismatches(tokensByStage[s]!, expectedPred)).length;
            const logits = await compare(gen.logits[s]!, expectedLogits);
            lines.push(`stage ${s}: structure_in ${structureIn}, pred ${pred} mismatch(es), logits max error ${logits.maxError}`);
            if (structureIn > 0 || pred > 0 || !logits.ok) failures.push(`stage ${s}`);
            tf.dispose([expectedIn, expectedPred, expectedLogits]);
          }
          const expectedCanvas = await file.tensor('out.gen.canvas_final');
          const canvas = await compare(gen.canvas_BPC, expectedCanvas);
          lines.push(`canvas_final max error ${canvas.maxError}`);
          if (!canvas.ok) failures.push('canvas_final');
          tf.dispose([expectedCanvas, gen.labels_BSP, gen.tokens_BSP, gen.canvas_BPC, ...gen.logits, ...labelsByStage, ...tokensByStage]);
          return { lines, failures };
        });
        console.log(`[${backendName()}] ${name} free-running:\n  ${report.lines.join('\n  ')}`);
        expect(report.failures).toEqual([]);
      });
    }
  });
}
