import * as tf from '@tensorflow/tfjs';
import { CheckpointFormatError, InvalidArgumentError, RandomGenerator, writeSafetensors } from '@nextdetail/core';
import { type GranularityStep, type NvgTokenizer, structureBits } from '@nextdetail/tokenizers';
import { dropConditions, type LearningRateSchedule, learningRateAt, logitNormalTimes, type NvgConfig, NvgGenerator, NvgTrainer } from '@nextdetail/transformer';
import type { GeneratorRun, GeneratorRunOptions } from './generatorRun.js';
import { generatorSchedule } from './generatorSchedule.js';
import { initGenerator } from './generatorSetup.js';

const KIND = 'nextdetail_nvg_generator_training';
const MODEL = 'model.';
const FIRST_MOMENT = 'optimizer.m.';
const SECOND_MOMENT = 'optimizer.v.';
const NVG_STREAM = 13;

/** The networks an NVG run updates: both, or one with the other kept as it is (e.g. to train them apart in parallel). */
export type NvgParts = 'both' | 'content' | 'structure';
export const NVG_PARTS: readonly NvgParts[] = ['both', 'content', 'structure'];

/**
 * NVG's generator: per step one content update on the mean loss of every stage (MSE of the final canvas +
 * cross-entropy of the cluster tokens) and one structure-flow update on the mean loss of every stage's split (either
 * alone with `parts`; the two losses share no parameters), 10% condition dropout,
 * AdamW (betas 0.9, 0.95) over every parameter at the other methods' learning-rate schedule, by NvgTrainer, whose
 * optimizer moments the training state saves and restores. Every draw comes from (seed, step), so a resumed run
 * continues exactly.
 */
// NVG paper §2.2 Eq. 1 and 3; reference digest §3.3 "Training"
export class NvgGeneratorRun implements GeneratorRun {
  static async create(tokenizer: NvgTokenizer, config: NvgConfig, options: GeneratorRunOptions): Promise<NvgGeneratorRun> {
    const state = options.state;
    if (state && state.metadata.kind !== KIND) {
      throw new InvalidArgumentError('--resume', `an NVG generator training state (kind "${KIND}")`, `kind ${JSON.stringify(state.metadata.kind)}`);
    }
    const generator = state
      ? await NvgGenerator.fromStateDict(state, { prefix: MODEL })
      : ((options.initial as NvgGenerator | undefined) ?? ((await initGenerator('nvg', config, options.seed, options.scaleFactors)) as NvgGenerator));
    const trainer = new NvgTrainer(generator, { learningRate: options.learningRate });
    if (state) {
      const steps = Number(state.metadata.optimizer_steps);
      if (!Number.isSafeInteger(steps) || steps < 0) throw new CheckpointFormatError(state.name, 'metadata optimizer_steps is not a count');
      const names = [...generator.trainableVariables().keys()];
      const read = async (prefix: string) => new Map(await Promise.all(names.map(async (n) => [n, await state.tensor(prefix + n)] as const)));
      const [m, v] = [await read(FIRST_MOMENT), await read(SECOND_MOMENT)];
      trainer.optimizer.restore(m, v, steps);
      tf.dispose([...m.values(), ...v.values()]);
    }
    return new NvgGeneratorRun(tokenizer, generator, trainer, generatorSchedule(options), options.seed, options.parts ?? 'both');
  }

  private constructor(
    private readonly tokenizer: NvgTokenizer,
    readonly generator: NvgGenerator,
    private readonly trainer: NvgTrainer,
    private readonly schedule: LearningRateSchedule,
    private readonly seed: number,
    private readonly parts: NvgParts,
  ) {}

  async step(step: number, images_BHWC: tf.Tensor4D, labels: readonly number[]): Promise<Record<string, number>> {
    const c = this.generator.config;
    const batch = images_BHWC.shape[0];
    const rng = new RandomGenerator(this.seed).fork(NVG_STREAM).fork(step);
    this.trainer.learningRate = learningRateAt(step, this.schedule);
    const plan = await this.tokenizer.encode(images_BHWC);
    const steps = plan.steps as GranularityStep[];
    const owned: tf.Tensor[] = [];
    const own = <T extends tf.Tensor>(t: T): T => (owned.push(t), t);
    try {
      const input_BSPX = own(this.tokenizer.trainingInput(plan));
      const canvases: tf.Tensor[] = [];
      const canvasAt = (s: number) =>
        (canvases[s] ??= own(tf.tidy(() => tf.reshape(tf.slice(input_BSPX, [0, s, 0, 0], [-1, 1, -1, c.cvae]), [batch, c.positions, c.cvae]))));
      const final_BPC = own(tf.tidy(() => tf.reshape(this.tokenizer.planToLatent(plan), [batch, c.positions, c.cvae])));
      const classes = dropConditions(labels, c.numClasses, 0.1, rng);
      const classLabels_B = own(tf.tensor1d(Int32Array.from(classes), 'int32'));
      // Each stage's canvas and structure code, built once: the content generator reads every stage's, the flow most.
      const bitsAt: tf.Tensor[] = [];
      const stageBits = async (s: number) => (bitsAt[s] ??= own(await structureBits(steps[s]!.labels_Bl, s, c.structureBits)));

      const losses: Record<string, number> = {};
      // Every stage in one update, as the reference trains them; one stage per step gave the content generator a
      // seventh of the signal for a seventh of the cost, and its share of a step is small (assets/models/MODELS.md).
      if (this.parts !== 'structure') {
        const contentBatches = [];
        for (let s = 0; s < c.stages; s++) {
          const rope = await this.generator.contentRope(await stageBits(s));
          owned.push(rope.cos_B1TF, rope.sin_B1TF);
          contentBatches.push({
            canvas_BPC: canvasAt(s),
            labels_BP: steps[s]!.labels_Bl,
            classLabels_B,
            stage: s,
            rope,
            target_BPC: final_BPC,
            clusterTokens_BK: steps[s]!.idx_Bl,
          });
        }
        const content = await this.trainer.contentStep(contentBatches);
        Object.assign(losses, { content: content.loss, content_mse: content.mse, content_ce: content.ce });
      }
      if (this.parts === 'content') return losses;

      // Every stage's split in one update, as the reference trains them: one stage per step left the flow's maps
      // incoherent after thousands of steps (assets/models/MODELS.md).
      const fullBits_BPW = await stageBits(c.stages - 1);
      const structureBatches = [];
      for (let r = 0; r < c.structureStages; r++) {
        const bitsR_BPW = await stageBits(r);
        const ropeR = await this.generator.structureRope(bitsR_BPW);
        owned.push(ropeR.cos_B1TF, ropeR.sin_B1TF);
        structureBatches.push({
          canvas_BPC: canvasAt(r + 1),
          bits_BPW: bitsR_BPW,
          targetBits_BPW: fullBits_BPW,
          classLabels_B,
          stage: r,
          noise_BPW: own(rng.normal([batch, c.positions, c.structureBits])),
          t: await logitNormalTimes(rng, batch),
          rope: ropeR,
        });
      }
      losses.structure = await this.trainer.structureStep(structureBatches);
      return losses;
    } finally {
      tf.dispose([plan, ...owned]);
    }
  }

  async trainingState(): Promise<Uint8Array> {
    const tensors: Record<string, Parameters<typeof writeSafetensors>[0][string]> = {};
    for (const [name, t] of Object.entries(await this.generator.stateDict())) tensors[MODEL + name] = t;
    const optimizer = this.trainer.optimizer;
    for (const [name, m] of optimizer.moments('exp_avg')) tensors[FIRST_MOMENT + name] = m;
    for (const [name, v] of optimizer.moments('exp_avg_sq')) tensors[SECOND_MOMENT + name] = v;
    return writeSafetensors(tensors, { kind: KIND, optimizer_steps: String(optimizer.stepCount) });
  }

  dispose(): void {
    this.trainer.dispose();
    this.generator.dispose();
  }
}
