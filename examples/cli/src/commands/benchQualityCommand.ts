import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '@nextdetail/core';
import { Command, Option } from 'commander';
import { QUALITY_METRICS, type MethodResult, type QualityResults } from '../bench/qualityResults.js';
import { qualityTable } from '../bench/qualityTable.js';
import { cachedEval } from '../bench/cachedEval.js';
import { checkTrainedWith, reusableRunRecord } from '../bench/reusedRun.js';
import { runSubcommand } from '../bench/runSubcommand.js';
import { numberArgument } from '../numberArgument.js';
import { checkPositiveInteger } from '../positiveInteger.js';
import { encodePng } from '../png.js';
import { barChart } from '../render/barChart.js';
import { METHODS, PRESET_SIZES, PRESETS, type PresetName } from '../train/presets.js';
import { readRunProgress } from '../train/runState.js';
import { reproduceExtendedCommand, type TrainSettings } from '../train/trainFlags.js';
import { PIPELINE_FILE, type Settings, trainOnlyFlags } from './trainCommand.js';
import { TOKENIZER_FILE } from './trainTokenizerCommand.js';

interface BenchFlags {
  methods: string;
  preset: PresetName;
  tokenizerSteps?: number;
  generatorSteps?: number;
  limit?: number;
  count: number;
  realCount?: number;
  batchSize: number;
  seed: number;
  out: string;
  backend?: string;
}

const COLOURS: Record<string, readonly [number, number, number]> = {
  var: [0.12, 0.47, 0.71],
  cart: [0.84, 0.15, 0.16],
  flexvar: [0.17, 0.63, 0.17],
  nvg: [1.0, 0.5, 0.05],
};
const REAL_COLOUR = [0.6, 0.6, 0.6] as const;
/** Where a method's evaluation (in its generator folder) and the noise floor (in --out) are kept for later runs. */
const EVAL_FILE = 'eval.json';
/** Where a method's generated images are kept: a stopped benchmark goes on from the batches saved there. */
const SAMPLES_DIR = 'samples';

export function benchQualityCommand(): Command {
  return new Command('bench-quality')
    .description(
      'the small-scale benchmark: trains every method\'s tokenizer and generator with one preset and one step budget on ' +
        'Fashion-MNIST, generates --count images each and writes FID, IS, precision/recall and class accuracy (with the ' +
        'real train-vs-test noise floor) as results.md, results.json and results.png',
    )
    .option('--methods <list>', 'comma-separated methods to compare', METHODS.join(','))
    .addOption(new Option('--preset <name>', 'architecture and default step counts for every method').choices(PRESETS).default('small'))
    .option('--tokenizer-steps <n>', 'tokenizer steps per method (default: the preset\'s)', numberArgument)
    .option('--generator-steps <n>', 'generator steps per method (default: the preset\'s)', numberArgument)
    .option('--limit <n>', 'train on the first n Fashion-MNIST images only', numberArgument)
    .option('--count <n>', 'images generated per method (and train images in the noise floor)', numberArgument, 10000)
    .option('--real-count <n>', 'use the first n test images as the real set (default: all 10 000)', numberArgument)
    .option('--batch-size <n>', 'images per generation batch', numberArgument, 50)
    .option('--seed <n>', 'seed of training and sampling', numberArgument, 0)
    .option('--out <dir>', 'runs and results; finished runs found there (trained with these settings), their evaluations and the images they generated so far are reused, so a stopped benchmark goes on where it was and several processes may split --methods, a last run writing the table (delete a method\'s folder to retrain it)', 'bench-quality')
    .option('--backend <list>', 'tfjs backends for every step (default: $NEXTDETAIL_BACKEND, else webgpu,wasm,cpu)')
    .action((flags: BenchFlags) => runBenchQuality(flags));
}


async function runBenchQuality(flags: BenchFlags): Promise<void> {
  const methods = flags.methods.split(',').map((m) => m.trim());
  for (const m of methods) {
    if (!(METHODS as readonly string[]).includes(m)) throw new InvalidArgumentError('--methods', `a list of ${METHODS.join(', ')}`, JSON.stringify(flags.methods));
  }
  for (const [value, flag] of [
    [flags.tokenizerSteps, '--tokenizer-steps'],
    [flags.generatorSteps, '--generator-steps'],
    [flags.limit, '--limit'],
    [flags.count, '--count'],
    [flags.realCount, '--real-count'],
    [flags.batchSize, '--batch-size'],
  ] as const) {
    checkPositiveInteger(value, flag);
  }
  if (flags.count < 2) throw new InvalidArgumentError('--count', 'at least 2 images', String(flags.count));
  const defaults = PRESET_SIZES[flags.preset].defaults;
  const tokenizerSteps = flags.tokenizerSteps ?? defaults.tokenizerSteps;
  const generatorSteps = flags.generatorSteps ?? defaults.generatorSteps;
  const out = resolve(flags.out);
  await mkdir(out, { recursive: true });
  const backend = flags.backend === undefined ? [] : ['--backend', flags.backend];
  const shared = ['--preset', flags.preset, '--seed', String(flags.seed), ...(flags.limit === undefined ? [] : ['--limit', String(flags.limit)]), ...backend];
  const real = ['--real', 'fashion-mnist:test', ...(flags.realCount === undefined ? [] : ['--real-count', String(flags.realCount)])];
  const log = (line: string) => console.error(`bench-quality: ${line}`);

  // The flags every run must have been trained with: what is passed below, and the preset's batch and lr.
  const trainedWith = (method: string, steps: number, batch: number, lr: number) => ({
    '--method': method,
    '--preset': flags.preset,
    '--steps': String(steps),
    '--epochs': undefined,
    '--batch': String(batch),
    '--lr': String(lr),
    '--seed': String(flags.seed),
    '--limit': flags.limit === undefined ? undefined : String(flags.limit),
    '--data': undefined,
    // A run whose length a --resume changed did not train on the benchmark's schedule.
    '--resume': undefined,
    // Fine-tuned runs started elsewhere; runs of one NVG network did not train the other.
    '--init': undefined,
    '--parts': undefined,
  });

  // A run stopped part-way (the benchmark interrupted) goes on from its saved state, once its settings are checked.
  const train = async (label: string, command: string, dir: string, expected: Record<string, string | undefined>, args: string[]) => {
    const stopped = await readRunProgress<TrainSettings & Partial<Settings>>(dir);
    if (stopped === undefined) {
      log(label);
      await runSubcommand([command, ...args, '--out', dir]);
      return;
    }
    if (stopped.command !== command) {
      throw new InvalidArgumentError('--out', `a stopped ${command} run or none in ${dir} (delete it to train again)`, `a ${stopped.command} run's state`);
    }
    const { settings } = stopped;
    const extra = settings.tokenizer === undefined ? [] : trainOnlyFlags({ ...settings, tokenizer: settings.tokenizer });
    const started = reproduceExtendedCommand(command, settings, dir, extra, stopped.extensions ?? []);
    checkTrainedWith(started, expected, 'stopped runs started', dir, `the state in ${dir}, started by`);
    log(`${label}: going on from step ${stopped.step}`);
    await runSubcommand([command, '--resume', '--out', dir, ...backend]);
  };

  const results: MethodResult[] = [];
  for (const method of methods) {
    const tokenizerDir = join(out, method, 'tokenizer');
    const generatorDir = join(out, method, 'generator');
    const tokenizerFile = join(tokenizerDir, TOKENIZER_FILE);
    const pipeline = join(generatorDir, PIPELINE_FILE);
    const tokenizerFlags = trainedWith(method, tokenizerSteps, defaults.tokenizerBatch, defaults.tokenizerLr);
    if (!existsSync(tokenizerFile)) {
      await train(`${method}: training the tokenizer (${tokenizerSteps} steps)`, 'train-tokenizer', tokenizerDir, tokenizerFlags, ['--method', method, ...shared, '--steps', String(tokenizerSteps)]);
    }
    const tokenizerRun = await reusableRunRecord(tokenizerFile, tokenizerFlags);
    const generatorFlags = trainedWith(method, generatorSteps, defaults.generatorBatch, defaults.generatorLr);
    if (!existsSync(pipeline)) {
      await train(`${method}: training the generator (${generatorSteps} steps)`, 'train', generatorDir, { ...generatorFlags, '--tokenizer': tokenizerFile }, [
        '--tokenizer', tokenizerFile, ...shared, '--steps', String(generatorSteps),
      ]);
    }
    const generatorRun = await reusableRunRecord(pipeline, generatorFlags);
    if (generatorRun.tokenizerTraining?.date !== tokenizerRun.date) {
      throw new InvalidArgumentError('--out', `a generator trained on ${tokenizerFile} (delete ${generatorDir} to train it again)`, `${pipeline}, trained on a tokenizer from ${generatorRun.tokenizerTraining?.date}`);
    }
    log(`${method}: generating ${flags.count} images and evaluating them (or reading the evaluation an earlier run left)`);
    const evaluation = await cachedEval(join(generatorDir, EVAL_FILE), [
      'eval', ...real, '--model', pipeline, '--count', String(flags.count), '--batch-size', String(flags.batchSize), '--seed', String(flags.seed), '--json', ...backend,
      '--fake-out', join(generatorDir, SAMPLES_DIR),
    ]);
    results.push({
      method,
      pipelineBytes: statSync(pipeline).size,
      trainSeconds: tokenizerRun.wallSeconds + generatorRun.wallSeconds,
      evalSeconds: evaluation.seconds,
      metrics: evaluation.report,
    });
  }
  log(`noise floor: ${flags.count} train images against the test images`);
  const noiseFloor = (
    await cachedEval(join(out, EVAL_FILE), ['eval', ...real, '--fake', 'fashion-mnist:train', '--fake-count', String(flags.count), '--seed', String(flags.seed), '--json', ...backend])
  ).report;

  const summary: QualityResults = { preset: flags.preset, tokenizerSteps, generatorSteps, count: flags.count, methods: results, noiseFloor };
  const table = qualityTable(summary);
  const chart = barChart(
    QUALITY_METRICS.map((metric) => ({
      title: `${metric.title} (${metric.better})`,
      bars: [
        ...results.map((r) => ({ label: r.method, value: metric.value(r.metrics), colour: COLOURS[r.method] ?? REAL_COLOUR })),
        { label: 'real', value: metric.value(noiseFloor), colour: REAL_COLOUR },
      ],
    })),
  );
  await writeFile(join(out, 'results.md'), table);
  await writeFile(join(out, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(join(out, 'results.png'), encodePng(chart));
  console.log(table);
  console.log(`results         ${join(out, 'results.md')}, results.json and results.png`);
}
