import * as tf from '@tensorflow/tfjs';
import { RandomGenerator } from '@nextdetail/core';
import type { PipelineMethod } from '@nextdetail/samplers';
import type { FlexVarTokenizer, Tokenizer } from '@nextdetail/tokenizers';
import { type FlexVarGenerator, GeneratorTrainer, type ScaleSize, type VarGenerator } from '@nextdetail/transformer';
import type { GeneratorRun, GeneratorRunOptions } from './generatorRun.js';
import { generatorSchedule } from './generatorSchedule.js';
import { initGenerator } from './generatorSetup.js';

const SCHEDULE_STREAM = 11;

/**
 * VAR, CART and FlexVAR generators: GeneratorTrainer (AdamW, warm-up then cosine decay, 10% condition dropout) on the
 * tokenizer's teacher-forcing inputs of each batch. FlexVAR trains on random schedules — 1, a seeded subset of the
 * middle sides, the full latent — as FlexVAR's trainer does; VAR and CART on their fixed schedule.
 */
// FoundationVision/VAR@78b9539:trainer.py VARTrainer.train_step; jiaosiyu1999/FlexVAR trainer.py gen_curr_patch_nums
export class ScaleGeneratorRun implements GeneratorRun {
  static async create(method: PipelineMethod, tokenizer: Tokenizer, config: object, options: GeneratorRunOptions): Promise<ScaleGeneratorRun> {
    const generator =
      (options.initial as VarGenerator | FlexVarGenerator | undefined) ?? ((await initGenerator(method, config as never, options.seed)) as VarGenerator | FlexVarGenerator);
    const trainer = new GeneratorTrainer(generator, {
      schedule: generatorSchedule(options),
      conditionDropout: 0.1,
      seed: options.seed + 1,
    });
    if (options.state) await trainer.resume(options.state);
    return new ScaleGeneratorRun(method, tokenizer, generator, trainer, options.seed);
  }

  private constructor(
    private readonly method: PipelineMethod,
    private readonly tokenizer: Tokenizer,
    readonly generator: VarGenerator | FlexVarGenerator,
    private readonly trainer: GeneratorTrainer,
    private readonly seed: number,
  ) {}

  async step(step: number, images_BHWC: tf.Tensor4D, labels: readonly number[]): Promise<Record<string, number>> {
    const sides = this.method === 'flexvar' ? this.flexSchedule(step) : undefined;
    const plan = sides ? await (this.tokenizer as FlexVarTokenizer).encode(images_BHWC, { patchNums: sides }) : await this.tokenizer.encode(images_BHWC);
    const input_BLCv = this.tokenizer.teacherForcing(plan);
    const target_BL = tf.concat(plan.steps.map((s) => s.idx_Bl), 1) as tf.Tensor2D;
    const scales: ScaleSize[] = sides ?? this.tokenizer.schedule().map((s) => s.size);
    try {
      const { loss } = await this.trainer.trainStep({ labels, input_BLCv, target_BL, scales });
      return { cross_entropy: loss };
    } finally {
      tf.dispose([plan, input_BLCv, target_BL]);
    }
  }

  trainingState(): Promise<Uint8Array> {
    return this.trainer.checkpoint();
  }

  dispose(): void {
    this.trainer.dispose();
    this.generator.dispose();
  }

  /** 1, each middle side of the default schedule with probability ½, and the full latent; drawn from (seed, step). */
  private flexSchedule(step: number): number[] {
    const full = this.tokenizer.schedule().map((s) => s.size[0]);
    const middle = full.slice(1, -1);
    const u = new RandomGenerator(this.seed).fork(SCHEDULE_STREAM).fork(step).uniformArray(Math.max(1, middle.length));
    return [full[0]!, ...middle.filter((_, i) => u[i]! < 0.5), full[full.length - 1]!];
  }
}
