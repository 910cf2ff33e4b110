import { checkNumber, InvalidArgumentError, withDefaults } from '@nextdetail/core';

export interface LearningRateSchedule {
  /** Peak learning rate (VAR: tblr·batch/256 with tblr 1e-4). */
  peak: number;
  /** Steps of linear warm-up from `warmupStart`·peak to peak. */
  warmupSteps: number;
  /** Steps in all; the decay ends here. */
  totalSteps: number;
  /** Shape of the decay after warm-up (VAR's `lin0` is linear). */
  decay?: 'linear' | 'cosine' | 'constant';
  /** Fraction of the peak at step 0 (VAR: 0.005). */
  warmupStart?: number;
  /** Fraction of the peak held after warm-up before decaying, as a fraction of the decay steps (VAR: 0.05). */
  hold?: number;
  /** Fraction of the peak reached at the end (VAR: 0.1 for d16/d20, 0.01 above). */
  end?: number;
}

const DEFAULTS = { decay: 'linear', warmupStart: 0.005, hold: 0, end: 0.1 } as const;

// FoundationVision/VAR@78b9539:utils/lr_control.py lr_wd_annealing ('lin0'): warm-up from wp0·peak, hold, then linear
// decay to wpe·peak; 'cos' decays along a half cosine.
/** The learning rate at `step` (0-based) of `schedule`. */
export function learningRateAt(step: number, schedule: LearningRateSchedule): number {
  const s = withDefaults<Required<LearningRateSchedule>>({ peak: NaN, warmupSteps: NaN, totalSteps: NaN, ...DEFAULTS }, schedule);
  checkNumber(step, 'step', { min: 0, integer: true });
  checkNumber(s.peak, 'schedule.peak', { min: 0 });
  checkNumber(s.totalSteps, 'schedule.totalSteps', { min: 1, integer: true });
  checkNumber(s.warmupSteps, 'schedule.warmupSteps', { min: 0, max: s.totalSteps, integer: true });
  checkNumber(s.warmupStart, 'schedule.warmupStart', { min: 0, max: 1 });
  checkNumber(s.hold, 'schedule.hold', { min: 0, max: 1 });
  checkNumber(s.end, 'schedule.end', { min: 0 });
  if (!['linear', 'cosine', 'constant'].includes(s.decay)) {
    throw new InvalidArgumentError('schedule.decay', '"linear", "cosine" or "constant"', String(s.decay));
  }
  if (step < s.warmupSteps) return s.peak * (s.warmupStart + ((1 - s.warmupStart) * step) / s.warmupSteps);
  if (s.decay === 'constant') return s.peak;
  const decaySteps = Math.max(1, s.totalSteps - s.warmupSteps);
  const holdSteps = s.hold * decaySteps;
  const p = Math.min(1, Math.max(0, (step - s.warmupSteps - holdSteps) / Math.max(1, decaySteps - holdSteps)));
  const ratio = s.decay === 'linear' ? 1 - (1 - s.end) * p : s.end + (1 - s.end) * 0.5 * (1 + Math.cos(Math.PI * p));
  return s.peak * ratio;
}
