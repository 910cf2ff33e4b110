import * as tf from '@tensorflow/tfjs';
import { CheckpointFormatError, InvalidArgumentError, RandomGenerator, writeSafetensors } from '@nextdetail/core';
import { AdamW, type GranularityStep, type NvgTokenizer, structureBits } from '@nextdetail/tokenizers';
import { dropConditions, logitNormalTimes, type NvgConfig, nvgContentLoss, NvgGenerator, nvgStructureLoss } from '@nextdetail/transformer';
import type { GeneratorRun, GeneratorRunOptions } from './generatorRun.js';
import { initGenerator } from './generatorSetup.js';

const KIND = 'nextdetail_nvg_generator_training';
const MODEL = 'model.';
const FIRST_MOMENT = 'optimizer.m.';
const SECOND_MOMENT = 'optimizer.v.';
const NVG_STREAM = 13;

/**
 * NVG's generator: per step one content update (stage step mod S: MSE of the final canvas + cross-entropy of the
 * cluster tokens) and one structure-flow update (stage step mod (S − 2)), 10% condition dropout, AdamW (betas 0.9,
 * 0.95) over every parameter. NvgTrainer does the same updates but keeps its optimizer private, so this run holds
 * its own AdamW to save and restore the moments. Every draw comes from (seed, step), so a resumed run continues
 * exactly.
 */
// NVG paper §2.2 Eq. 1 and 3; reference digest §3.3 "Training"
export class NvgGeneratorRun implements GeneratorRun {
  static async create(tokenizer: NvgTokenizer, config: NvgConfig, options: GeneratorRunOptions): Promise<NvgGeneratorRun> {
    const state = options.state;
    if (state && state.metadata.kind !== KIND) {
      throw new InvalidArgumentError('--resume', `an NVG generator training state (kind "${KIND}")`, `kind ${JSON.stringify(state.metadata.kind)}`);
    }
    const generator = state ? await NvgGenerator.fromStateDict(state, { prefix: MODEL }) : ((await initGenerator('nvg', config, options.seed)) as NvgGenerator);
    const names = [...generator.trainableVariables().keys()];
    const optimizer = new AdamW([...generator.trainableVariables().values()], { learningRate: options.learningRate });
    if (state) {
      const steps = Number(state.metadata.optimizer_steps);
      if (!Number.isSafeInteger(steps) || steps < 0) throw new CheckpointFormatError(state.name, 'metadata optimizer_steps is not a count');
      const m = await Promise.all(names.map((n) => state.tensor(FIRST_MOMENT + n)));
      const v = await Promise.all(names.map((n) => state.tensor(SECOND_MOMENT + n)));
      optimizer.restore(m, v, steps);
      tf.dispose([...m, ...v]);
    }
    return new NvgGeneratorRun(tokenizer, generator, optimizer, names, options.seed);
  }

  private constructor(
    private readonly tokenizer: NvgTokenizer,
    readonly generator: NvgGenerator,
    private readonly optimizer: AdamW,
    private readonly names: readonly string[],
    private readonly seed: number,
  ) {}

  async step(step: number, images_BHWC: tf.Tensor4D, labels: readonly number[]): Promise<Record<string, number>> {
    const c = this.generator.config;
    const batch = images_BHWC.shape[0];
    const rng = new RandomGenerator(this.seed).fork(NVG_STREAM).fork(step);
    const plan = await this.tokenizer.encode(images_BHWC);
    const steps = plan.steps as GranularityStep[];
    const owned: tf.Tensor[] = [];
    const own = <T extends tf.Tensor>(t: T): T => (owned.push(t), t);
    try {
      const input_BSPX = own(this.tokenizer.trainingInput(plan));
      const canvasAt = (s: number) =>
        own(tf.tidy(() => tf.reshape(tf.slice(input_BSPX, [0, s, 0, 0], [-1, 1, -1, c.cvae]), [batch, c.positions, c.cvae])));
      const final_BPC = own(tf.tidy(() => tf.reshape(this.tokenizer.planToLatent(plan), [batch, c.positions, c.cvae])));
      const classes = dropConditions(labels, c.numClasses, 0.1, rng);
      const classLabels_B = own(tf.tensor1d(Int32Array.from(classes), 'int32'));

      const s = step % c.stages;
      const bits_BPW = own(await structureBits(steps[s]!.labels_Bl, s, c.structureBits));
      const rope = await this.generator.contentRope(bits_BPW);
      owned.push(rope.cos_B1TF, rope.sin_B1TF);
      const contentBatch = {
        canvas_BPC: canvasAt(s),
        labels_BP: steps[s]!.labels_Bl,
        classLabels_B,
        stage: s,
        rope,
        target_BPC: final_BPC,
        clusterTokens_BK: steps[s]!.idx_Bl,
      };
      const parts: tf.Scalar[] = [];
      const content = await this.update(() => {
        const l = nvgContentLoss(this.generator, contentBatch);
        parts.push(tf.keep(l.mse), tf.keep(l.ce));
        return l.loss;
      });
      const [mse, ce] = await Promise.all(parts.map(async (p) => (await p.data())[0]!));
      tf.dispose(parts);

      const r = step % c.structureStages;
      const fullBits_BPW = own(await structureBits(steps[c.stages - 1]!.labels_Bl, c.stages - 1, c.structureBits));
      const bitsR_BPW = own(await structureBits(steps[r]!.labels_Bl, r, c.structureBits));
      const ropeR = await this.generator.structureRope(bitsR_BPW);
      owned.push(ropeR.cos_B1TF, ropeR.sin_B1TF);
      const structureBatch = {
        canvas_BPC: canvasAt(r + 1),
        bits_BPW: bitsR_BPW,
        targetBits_BPW: fullBits_BPW,
        classLabels_B,
        stage: r,
        noise_BPW: own(rng.normal([batch, c.positions, c.structureBits])),
        t: await logitNormalTimes(rng, batch),
        rope: ropeR,
      };
      const structure = await this.update(() => nvgStructureLoss(this.generator, structureBatch));
      return { content: content, content_mse: mse!, content_ce: ce!, structure };
    } finally {
      tf.dispose([plan, ...owned]);
    }
  }

  async trainingState(): Promise<Uint8Array> {
    const tensors: Record<string, Parameters<typeof writeSafetensors>[0][string]> = {};
    for (const [name, t] of Object.entries(await this.generator.stateDict())) tensors[MODEL + name] = t;
    const { m, v } = this.optimizer.momentsInOrder();
    this.names.forEach((name, i) => {
      tensors[FIRST_MOMENT + name] = m[i]!;
      tensors[SECOND_MOMENT + name] = v[i]!;
    });
    return writeSafetensors(tensors, { kind: KIND, optimizer_steps: String(this.optimizer.stepCount) });
  }

  dispose(): void {
    this.optimizer.dispose();
    this.generator.dispose();
  }

  /** One AdamW step on `loss()`; returns the loss before the step. */
  private async update(loss: () => tf.Scalar): Promise<number> {
    const { value, grads } = tf.variableGrads(loss, [...this.generator.trainableVariables().values()]);
    const norm = this.optimizer.apply(grads);
    const out = (await value.data())[0]!;
    tf.dispose([value, norm, ...Object.values(grads)]);
    return out;
  }
}
