import { resolve } from 'node:path';
import { InvalidArgumentError } from '@nextdetail/core';
import { type Command, Option } from 'commander';
import { numberArgument } from '../numberArgument.js';
import { checkPositiveInteger } from '../positiveInteger.js';
import { checkChoice, type PresetName, PRESETS, PRESET_SIZES } from './presets.js';
import type { RunExtension, RunProgress } from './runState.js';
import { stepsPerEpoch } from './trainingData.js';

/** The flags `train-tokenizer` and `train` share. */
export interface TrainFlags {
  method?: string;
  preset: string;
  steps?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  seed: number;
  limit?: number;
  data?: string;
  imageSize: number;
  out: string;
  saveEvery: number;
  resume?: boolean;
  stopAt?: number;
  backend?: string;
}

/** What a run is, once the flags are checked (kept in state.json so `--resume` continues the same run). */
export interface TrainSettings {
  method: string;
  preset: PresetName;
  /** Either a step count or an epoch count; the other follows from the data size. */
  steps?: number;
  epochs?: number;
  batch: number;
  lr: number;
  seed: number;
  limit?: number;
  data?: string;
  imageSize: number;
}

export function addTrainFlags(command: Command, defaultOut: string): Command {
  return command
    .addOption(new Option('--preset <name>', 'architecture and default schedule sizes').choices(PRESETS).default('small'))
    .option('--steps <n>', 'optimisation steps (default: the preset\'s)', numberArgument)
    .option('--epochs <n>', 'passes over the training images, instead of --steps', numberArgument)
    .option('--batch <n>', 'images per step (default: the preset\'s)', numberArgument)
    .option('--lr <rate>', 'peak learning rate (default: the preset\'s)', numberArgument)
    .option('--seed <n>', 'seed of every random choice (initialisation, batches, dropout)', numberArgument, 0)
    .option('--limit <n>', 'train on the first n images only', numberArgument)
    .option('--data <folder>', 'PNG/JPEG images with one sub-folder per class (default: Fashion-MNIST, 32×32)')
    .option('--image-size <n>', 'side the --data images are resized to', numberArgument, 32)
    .option('--out <dir>', 'directory for the outputs and the training state', defaultOut)
    .option('--save-every <n>', 'write the training state every n steps (and at the end)', numberArgument, 100)
    .option('--resume', 'continue the run whose state is in --out, with its settings; with --steps or --epochs, to that new length')
    .option('--stop-at <step>', 'stop after this step with the state saved (continue later with --resume)', numberArgument)
    .option('--backend <list>', 'tfjs backends to try in order, e.g. "wasm,cpu" (default: $NEXTDETAIL_BACKEND, else webgpu,wasm,cpu)');
}


/** Checks the flags that do not depend on the data and fills in the preset's defaults. */
export function resolveSettings(flags: TrainFlags, method: string, methods: readonly string[], generator: boolean): TrainSettings {
  checkChoice(method, methods, '--method');
  const preset = checkChoice(flags.preset, PRESETS, '--preset');
  for (const [value, flag] of [
    [flags.steps, '--steps'],
    [flags.epochs, '--epochs'],
    [flags.batch, '--batch'],
    [flags.limit, '--limit'],
    [flags.saveEvery, '--save-every'],
    [flags.stopAt, '--stop-at'],
    [flags.imageSize, '--image-size'],
  ] as const) {
    checkPositiveInteger(value, flag);
  }
  if (flags.steps !== undefined && flags.epochs !== undefined) throw new InvalidArgumentError('--epochs', 'not to be given with --steps', `--steps ${flags.steps}`);
  if (!Number.isInteger(flags.seed) || flags.seed < 0) throw new InvalidArgumentError('--seed', 'a non-negative integer', String(flags.seed));
  if (flags.lr !== undefined && !(flags.lr > 0 && flags.lr < 1)) throw new InvalidArgumentError('--lr', 'a learning rate in (0, 1)', String(flags.lr));
  const d = PRESET_SIZES[preset].defaults;
  return {
    method,
    preset,
    ...(flags.epochs !== undefined ? { epochs: flags.epochs } : { steps: flags.steps ?? (generator ? d.generatorSteps : d.tokenizerSteps) }),
    batch: flags.batch ?? (generator ? d.generatorBatch : d.tokenizerBatch),
    lr: flags.lr ?? (generator ? d.generatorLr : d.tokenizerLr),
    seed: flags.seed,
    ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    ...(flags.data !== undefined ? { data: resolve(flags.data) } : {}),
    imageSize: flags.imageSize,
  };
}

/** Steps in all, from --steps or --epochs over `count` images. */
export function totalSteps(settings: TrainSettings, count: number): number {
  return settings.steps ?? settings.epochs! * stepsPerEpoch(count, settings.batch);
}

/** A run's length in steps, the extensions that set it, and its command lines (see TrainingLoop). */
export interface RunLength {
  total: number;
  extensions: RunExtension[];
  reproduce: string;
  continueWith: string;
}

/** The length and command lines of a fresh run (`resumed` absent) or of the resumed run `resumed`. */
export function runLength(
  command: string,
  settings: TrainSettings,
  out: string,
  extra: string[],
  count: number,
  flags: TrainFlags,
  resumed?: RunProgress<TrainSettings>,
): RunLength {
  const { total, extensions } = resumed ? resumedLength(resumed, flags, count) : { total: totalSteps(settings, count), extensions: [] };
  return {
    total,
    extensions,
    reproduce: reproduceExtendedCommand(command, settings, out, extra, extensions),
    continueWith: continueCommand(command, settings, out, extra, extensions),
  };
}

/**
 * The length of a resumed run: its own, or the one `--steps`/`--epochs` gives (recorded as one more extension), which
 * lengthens a finished run or changes where a stopped one ends; the learning-rate schedule follows the new length.
 */
function resumedLength(progress: RunProgress<TrainSettings>, flags: TrainFlags, count: number): { total: number; extensions: RunExtension[] } {
  const extensions = progress.extensions ?? [];
  const asked = flags.steps ?? (flags.epochs === undefined ? undefined : flags.epochs * stepsPerEpoch(count, progress.settings.batch));
  if (asked === undefined || asked === progress.totalSteps) return { total: progress.totalSteps, extensions };
  if (asked < progress.step) {
    const [flag, value] = flags.steps !== undefined ? ['--steps', String(flags.steps)] : ['--epochs', `${flags.epochs} (${asked} steps)`];
    throw new InvalidArgumentError(flag, `at least the ${progress.step} steps the resumed run has done`, value);
  }
  return { total: asked, extensions: [...extensions, { atStep: progress.step, totalSteps: asked }] };
}

/**
 * The command lines that redo a run whose length `--resume` changed: the first run and each resumed one stop where the
 * next extension took over, joined with `&&`.
 */
export function reproduceExtendedCommand(command: string, settings: TrainSettings, out: string, extra: string[], extensions: readonly RunExtension[]): string {
  const segments = [
    reproduceCommand(command, settings, out, extra),
    ...extensions.map(({ totalSteps: steps }) => `${reproduceCommand(command, withSteps(settings, steps), out, extra)} --resume`),
  ];
  return segments.map((segment, i) => (i < extensions.length ? `${segment} --stop-at ${extensions[i]!.atStep}` : segment)).join(' && ');
}

/** The command line that, with `--resume`, continues a run at its current length. */
function continueCommand(command: string, settings: TrainSettings, out: string, extra: string[], extensions: readonly RunExtension[]): string {
  const last = extensions[extensions.length - 1];
  return reproduceCommand(command, last === undefined ? settings : withSteps(settings, last.totalSteps), out, extra);
}

/** `settings` with its length as a step count (an extension's length is one). */
function withSteps(settings: TrainSettings, steps: number): TrainSettings {
  const { epochs: _, ...fixed } = settings;
  return { ...fixed, steps };
}

/** The command line that reruns these settings from scratch. */
export function reproduceCommand(command: string, settings: TrainSettings, out: string, extra: string[] = []): string {
  const parts = ['nextdetail', command, ...extra, '--method', settings.method, '--preset', settings.preset];
  if (settings.steps !== undefined) parts.push('--steps', String(settings.steps));
  if (settings.epochs !== undefined) parts.push('--epochs', String(settings.epochs));
  parts.push('--batch', String(settings.batch), '--lr', String(settings.lr), '--seed', String(settings.seed));
  if (settings.limit !== undefined) parts.push('--limit', String(settings.limit));
  if (settings.data !== undefined) parts.push('--data', settings.data, '--image-size', String(settings.imageSize));
  parts.push('--out', out);
  return parts.map((p) => (/^[\w./:=+-]+$/.test(p) ? p : JSON.stringify(p))).join(' ');
}
