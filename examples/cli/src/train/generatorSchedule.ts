import type { LearningRateSchedule } from '@nextdetail/transformer';
import type { GeneratorRunOptions } from './generatorRun.js';

/**
 * Every method's learning rate: a linear warm-up over the first tenth of the run (at most 100 steps), then a cosine
 * decay to a tenth of the peak at the last step, so that methods trained on one budget get one schedule.
 */
export function generatorSchedule(options: GeneratorRunOptions): LearningRateSchedule {
  return {
    peak: options.learningRate,
    warmupSteps: Math.min(100, Math.floor(options.totalSteps / 10)),
    totalSteps: options.totalSteps,
    decay: 'cosine',
    end: 0.1,
  };
}
