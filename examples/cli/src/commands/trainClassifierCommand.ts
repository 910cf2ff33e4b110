import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from '@nextdetail/core';
import { Command } from 'commander';
import { describeBackend, startBackend } from '../backend.js';
import { accuracy, trainClassifier } from '../classifier/trainClassifier.js';
import { progressBar } from '../progress/progressBar.js';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../data/fashionMnist.js';
import { numberArgument } from '../numberArgument.js';
import { checkPositiveInteger } from '../positiveInteger.js';

interface TrainClassifierFlags {
  out: string;
  data: string;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  limit?: number;
  testLimit?: number;
  backend?: string;
}


export function trainClassifierCommand(): Command {
  return new Command('train-classifier')
    .description('train the Fashion-MNIST classifier whose 128-d features and softmax `nextdetail eval` uses')
    .option('--out <file>', 'safetensors file to write', 'classifier.safetensors')
    .option('--data <dir>', 'folder with the Fashion-MNIST idx files', FASHION_MNIST_DIR)
    .option('--epochs <n>', 'passes over the training images', numberArgument, 3)
    .option('--batch-size <n>', 'images per Adam step', numberArgument, 64)
    .option('--lr <value>', 'Adam learning rate', numberArgument, 2e-3)
    .option('--seed <n>', 'seed of the initial weights and the shuffling', numberArgument, 0)
    .option('--limit <n>', 'train on the first n training images only (default: all 60 000)', numberArgument)
    .option('--test-limit <n>', 'measure the accuracy on the first n test images only (default: all 10 000)', numberArgument)
    .option('--backend <list>', 'tfjs backends to try in order (default: $NEXTDETAIL_BACKEND, else webgpu,wasm,cpu)')
    .action(async (flags: TrainClassifierFlags) => runTrainClassifier(flags));
}

async function runTrainClassifier(flags: TrainClassifierFlags): Promise<void> {
  checkPositiveInteger(flags.epochs, '--epochs');
  checkPositiveInteger(flags.batchSize, '--batch-size');
  checkPositiveInteger(flags.limit, '--limit');
  checkPositiveInteger(flags.testLimit, '--test-limit');
  if (!Number.isInteger(flags.seed)) throw new InvalidArgumentError('--seed', 'an integer', String(flags.seed));
  if (!(flags.lr > 0)) throw new InvalidArgumentError('--lr', 'a positive number', String(flags.lr));
  const started = performance.now();
  const loadData = (split: 'train' | 'test', limit?: number) => {
    try {
      return loadFashionMnist({ split, limit, dir: flags.data });
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError('--data', err.expected, flags.data);
      throw err;
    }
  };
  const train = loadData('train', flags.limit);
  const test = loadData('test', flags.testLimit);
  if (train.count < flags.batchSize) {
    throw new InvalidArgumentError('--batch-size', `at most the ${train.count} training images`, String(flags.batchSize));
  }
  const backend = await startBackend(flags.backend, (name, reason) => console.error(`note: skipped backend ${name}: ${reason}`));
  console.log(`backend         ${describeBackend(backend)}`);
  console.log(`data            ${train.count} training, ${test.count} test images from ${flags.data}`);

  const bar = progressBar(
    'training [{bar}] epoch {epoch}/{epochs} step {step}/{steps} | loss {loss} | {eta_formatted} left',
    flags.epochs,
    0,
    { epoch: 1, epochs: flags.epochs, step: 0, steps: 0, loss: '' },
  );
  let lastEpoch = -1;
  const model = await trainClassifier(train, {
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    learningRate: flags.lr,
    seed: flags.seed,
    progress: (event) => {
      const { epoch, step, steps, loss } = event;
      bar.update(epoch * steps + step, { epoch: epoch + 1, epochs: flags.epochs, step, steps, loss: loss.toFixed(4) }, flags.epochs * steps);
      if (event.step === event.steps && event.epoch !== lastEpoch) {
        lastEpoch = event.epoch;
        const seconds = ((performance.now() - started) / 1000).toFixed(0);
        console.error(`epoch ${event.epoch + 1}/${flags.epochs}: mean loss ${event.loss.toFixed(4)} (${seconds} s)`);
      }
    },
  }).finally(() => bar.stop());
  try {
    const testAccuracy = await accuracy(model, test);
    const wallSeconds = (performance.now() - started) / 1000;
    const bytes = await model.toSafetensors({
      kind: 'fashion-mnist-classifier',
      test_accuracy: testAccuracy.toFixed(4),
      test_images: String(test.count),
      train_images: String(train.count),
      epochs: String(flags.epochs),
      batch_size: String(flags.batchSize),
      learning_rate: String(flags.lr),
      seed: String(flags.seed),
      backend: backend.name,
      wall_seconds: wallSeconds.toFixed(0),
      trained_at: new Date().toISOString(),
    });
    const out = resolve(flags.out);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, bytes);
    console.log(`test accuracy   ${(100 * testAccuracy).toFixed(2)} % on ${test.count} images`);
    console.log(`output          ${out} (${(bytes.length / 1024).toFixed(0)} KiB)`);
    console.log(`total           ${wallSeconds.toFixed(1)} s`);
  } finally {
    model.dispose();
  }
}
