import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@nextdetail/core';
import { frechetDistanceFromFeatures } from '@nextdetail/eval';
import { disposePipeline } from '@nextdetail/samplers';
import { Command } from 'commander';
import { renameArgument } from '../argumentNames.js';
import { describeBackend, startBackend } from '../backend.js';
import { loadClassifierFile, SHIPPED_CLASSIFIER } from '../classifier/classifierFile.js';
import { FASHION_MNIST_CLASSES } from '../data/fashionMnist.js';
import type { LabelledImages } from '../data/labelledImages.js';
import { classifierOutputs, perClassAccuracy, top1Accuracy } from '../evaluation/classifierOutputs.js';
import type { EvalReport } from '../evaluation/evalReport.js';
import { generatedSet } from '../evaluation/generatedSet.js';
import { classifierScore, imageMetrics } from '../evaluation/imageMetrics.js';
import { labelsAs, loadImageSet } from '../evaluation/imageSets.js';
import { inceptionExtractor } from '../evaluation/inceptionFeatures.js';
import { fixed, type MetricRow, metricsTable } from '../evaluation/metricsTable.js';
import { openPipeline } from '../generation/openPipeline.js';
import { outputPath } from '../generation/outputPath.js';
import { addSamplingOptions, checkSamplingFlags, SAMPLING_FLAG_NAMES, type SamplingFlags, withRecommendedSampling } from '../generation/samplingOptions.js';
import { numberArgument } from '../numberArgument.js';
import { checkPositiveInteger } from '../positiveInteger.js';
import { progressBar } from '../progress/progressBar.js';

interface EvalFlags extends SamplingFlags {
  real: string;
  realCount?: number;
  fake?: string;
  fakeCount?: number;
  model?: string;
  count: number;
  batchSize: number;
  fakeOut?: string;
  classifier?: string;
  inception?: string;
  json?: boolean;
  backend?: string;
}

export function evalCommand(): Command {
  const command = new Command('eval')
    .description('sample quality against real images: FID, KID, precision/recall and IS on the Fashion-MNIST classifier, and class accuracy')
    .option('--real <set>', 'fashion-mnist:test, fashion-mnist:train (…@<dir> for another folder of the idx files) or an image folder', 'fashion-mnist:test')
    .option('--real-count <n>', 'use only the first n real images', numberArgument)
    .option('--fake <set>', 'generated images: a folder (class sub-folders named after the classes give the accuracy), or fashion-mnist:train|test for a real-vs-real noise floor')
    .option('--fake-count <n>', 'with --fake: use only the first n of its images', numberArgument)
    .option('--model <file>', 'or generate the fake set with this pipeline (classes in turn)')
    .option('--count <n>', 'with --model: how many images to generate', numberArgument, 1000)
    .option('--batch-size <n>', 'with --model: images per generation batch (batch b uses seed + b)', numberArgument, 50)
    .option('--fake-out <dir>', 'with --model: also save the generated images there, one folder per class; a later run with the same model, backend, batch size and sampling flags reads back the batches saved there, so a long run can stop and go on')
    .option('--classifier <file>', 'feature classifier (default: the shipped assets/classifier.safetensors)')
    .option('--inception <weights>', 'also FID on the FID-Inception network (pt_inception-2015-12-05 .pth or .safetensors)')
    .option('--json', 'print one JSON object instead of the table');
  addSamplingOptions(command);
  return command
    .option('--backend <list>', 'tfjs backends to try in order (default: $NEXTDETAIL_BACKEND, else webgpu,wasm,cpu)')
    .action(async (flags: EvalFlags) => {
      try {
        await runEval(flags);
      } catch (err) {
        throw renameArgument(err, SAMPLING_FLAG_NAMES);
      }
    });
}


async function runEval(flags: EvalFlags): Promise<void> {
  const started = performance.now();
  const log = flags.json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  if ((flags.fake === undefined) === (flags.model === undefined)) {
    throw new InvalidArgumentError('--fake', 'either --fake <folder> or --model <pipeline> (exactly one)', flags.fake ? 'both' : 'neither');
  }
  checkPositiveInteger(flags.realCount, '--real-count');
  checkPositiveInteger(flags.fakeCount, '--fake-count');
  if (flags.fakeCount !== undefined && flags.fake === undefined) throw new InvalidArgumentError('--fake-count', 'to go with --fake', `--model ${flags.model}`);
  checkPositiveInteger(flags.count, '--count');
  checkPositiveInteger(flags.batchSize, '--batch-size');
  if (flags.count < 2) throw new InvalidArgumentError('--count', 'at least 2 images', String(flags.count));
  const fakeOut = flags.fakeOut === undefined ? undefined : await outputPath(flags.fakeOut, '--fake-out', { file: false });
  const real = await loadImageSet(flags.real, '--real', flags.realCount);
  const fakeFolder = flags.fake === undefined ? undefined : await loadImageSet(flags.fake, '--fake', flags.fakeCount);
  const backend = await startBackend(flags.backend, (name, reason) => console.error(`note: skipped backend ${name}: ${reason}`));
  log(`backend         ${describeBackend(backend)}`);
  const { classifier, metadata } = await loadClassifierFile(flags.classifier ?? SHIPPED_CLASSIFIER);
  try {
    let fake: LabelledImages;
    let fakeSource: string;
    if (flags.model !== undefined) {
      const pipeline = await openPipeline(flags.model);
      try {
        checkSamplingFlags(flags, pipeline);
        const { flags: sampling, taken } = withRecommendedSampling(flags, pipeline);
        if (taken) log(`sampling        ${taken}`);
        const bar = progressBar('generating [{bar}] {value}/{total} images | {eta_formatted} left', flags.count, 0, {});
        const { seed, cfg, topK, topP, temperature, structureSteps, structureSource, structureRefinements, structureCfg, size, steps } = sampling;
        const settings = fakeOut && {
          model: createHash('sha256').update(await readFile(flags.model)).digest('hex'),
          backend: backend.name,
          batchSize: flags.batchSize,
          sampling: { seed, cfg, topK, topP, temperature, structureSteps, structureSource, structureRefinements, structureCfg, size, steps },
        };
        fake = await generatedSet(pipeline, {
          count: flags.count,
          batchSize: flags.batchSize,
          sampling,
          saveDir: fakeOut,
          ...(settings ? { settings } : {}),
          saveFlag: '--fake-out',
          onBatch: (done) => bar.update(done, {}),
        }).finally(() => bar.stop());
        fakeSource = `${flags.model} (${pipeline.method}, seed ${flags.seed})`;
      } finally {
        disposePipeline(pipeline);
      }
    } else {
      fake = fakeFolder!;
      fakeSource = flags.fake!;
    }
    if (real.count < 2) throw new InvalidArgumentError('--real', 'at least 2 images', `${real.count}`);
    if (fake.count < 2) throw new InvalidArgumentError('--fake', 'at least 2 images', `${fake.count}`);
    const realOutputs = await classifierOutputs(classifier, real);
    const fakeOutputs = await classifierOutputs(classifier, fake);
    const metrics = await imageMetrics(realOutputs.features, fakeOutputs.features, flags.seed);
    const score = classifierScore(fakeOutputs.logits);
    const fakeLabels = labelsAs(fake, FASHION_MNIST_CLASSES);
    const realLabels = labelsAs(real, FASHION_MNIST_CLASSES);
    const accuracy = fakeLabels ? top1Accuracy(fakeOutputs.logits, fakeLabels) : undefined;
    const realAccuracy = realLabels ? top1Accuracy(realOutputs.logits, realLabels) : undefined;
    const perClass = fakeLabels ? perClassAccuracy(fakeOutputs.logits, fakeLabels, FASHION_MNIST_CLASSES) : {};
    let fidInception: number | undefined;
    if (flags.inception !== undefined) {
      const inception = await inceptionExtractor(flags.inception).catch((err: unknown) => {
        throw renameArgument(err, { input: '--inception', pathOrUrl: '--inception' });
      });
      try {
        fidInception = frechetDistanceFromFeatures(await inception.features(real), await inception.features(fake)).fid;
      } finally {
        inception.dispose();
      }
    }
    const result: EvalReport = {
      real: { source: flags.real, count: real.count },
      fake: { source: fakeSource, count: fake.count },
      classifier: { path: flags.classifier ?? SHIPPED_CLASSIFIER, testAccuracy: metadata.test_accuracy === undefined ? null : Number(metadata.test_accuracy) },
      fid: metrics.fid,
      kid: metrics.kid,
      precision: metrics.precision,
      recall: metrics.recall,
      inceptionScore: score,
      accuracy: accuracy ?? null,
      perClassAccuracy: perClass,
      realAccuracy: realAccuracy ?? null,
      fidInception: fidInception ?? null,
      seconds: (performance.now() - started) / 1000,
    };
    if (flags.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const rows: MetricRow[] = [
      ['real images', String(real.count), flags.real],
      ['fake images', String(fake.count), fakeSource],
      ['FID', fixed(metrics.fid, 3), 'classifier features (128-d), lower is better'],
      ['KID', `${fixed(metrics.kid.mean, 5)} ± ${fixed(metrics.kid.std, 5)}`, 'classifier features, lower is better'],
      ['precision', fixed(metrics.precision, 4), 'fake inside the real manifold (k = 3)'],
      ['recall', fixed(metrics.recall, 4), 'real inside the fake manifold (k = 3)'],
      ['IS', `${fixed(score.mean, 3)} ± ${fixed(score.std, 3)}`, 'classifier softmax, at most 10'],
      ['accuracy', accuracy === undefined ? '—' : `${fixed(100 * accuracy, 1)} %`, 'classifier top-1 vs the requested class'],
      ['real accuracy', realAccuracy === undefined ? '—' : `${fixed(100 * realAccuracy, 1)} %`, 'the same classifier on the real set'],
    ];
    if (fidInception !== undefined) rows.push(['FID-Inception', fixed(fidInception, 3), 'pool3 (2048-d)']);
    log(metricsTable(rows));
    log(`total           ${result.seconds.toFixed(1)} s`);
  } finally {
    classifier.dispose();
  }
}
