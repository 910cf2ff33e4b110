import { stat } from 'node:fs/promises';
import { Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, parseBackendList } from '@nextdetail/core';
import { useBackend } from '@nextdetail/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { StatisticsAccumulator, type FeatureStatistics } from './featureStatistics.js';
import { frechetDistanceFromFeatures } from './frechetDistanceFromFeatures.js';
import { frechetTerms } from './frechetDistance.js';
import { inceptionScore } from './inceptionScore.js';
import type { FidInception } from './inception/fidInception.js';
import { inceptionOutputs, type InceptionOutput } from './featureExtractor.js';
import type { FeatureMatrix } from './featureMatrix.js';
import { PREPROCESS_MODES, type PreprocessMode } from './preprocess.js';
import {
  imageBatches,
  listImageFiles,
  loadAccumulatorState,
  loadFidInceptionFile,
  loadStatistics,
  saveAccumulatorState,
  saveStatistics,
} from './node.js';

/** Where the CLI writes: results to `out`, progress and messages to `err`. */
export interface CliIo {
  out: (line: string) => void;
  err: NodeJS.WritableStream;
}

interface CommonOptions {
  weights?: string;
  preprocess: PreprocessMode;
  batchSize: number;
  backend?: string;
  json?: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CommanderArgumentError('expected a positive integer');
  return n;
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('-w, --weights <path-or-url>', 'FID-Inception weights (.pth or safetensors; see the README for where to get them)')
    .addOption(new Option('-p, --preprocess <mode>', 'resize and value mapping').choices([...PREPROCESS_MODES]).default('tf1'))
    .option('-b, --batch-size <n>', 'images per forward pass', positiveInt, 25)
    .option('--backend <names>', 'tfjs backend(s) to try in order, e.g. "webgpu,wasm,cpu" (default: NEXTDETAIL_BACKEND or auto)')
    .option('--json', 'print the result as one JSON line');
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

class Session {
  private model: FidInception | null = null;
  private started = false;
  constructor(private readonly options: CommonOptions, private readonly io: CliIo) {}

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const spec = this.options.backend ?? process.env.NEXTDETAIL_BACKEND;
    const info = await useBackend(spec ? parseBackendList(spec, '--backend') : 'auto');
    this.io.err.write(`backend: ${info.name}\n`);
  }

  private async network(): Promise<FidInception> {
    if (this.model) return this.model;
    if (!this.options.weights) {
      throw new InvalidArgumentError('--weights', 'a path or URL of FID-Inception weights to extract features from images (see the README: they cannot be bundled)', 'none');
    }
    this.model = await loadFidInceptionFile(this.options.weights);
    return this.model;
  }

  /** Runs the network over a folder, accumulating `statsOutput` statistics and keeping the rows of `keep` outputs. */
  async extract(dir: string, statsOutput: InceptionOutput | null, keep: readonly InceptionOutput[]) {
    const files = await listImageFiles(dir);
    if (files.length === 0) throw new InvalidArgumentError('dir', 'a folder with PNG or JPEG images', JSON.stringify(dir));
    const model = await this.network();
    const wanted = [...new Set([...(statsOutput ? [statsOutput] : []), ...keep])];
    const accumulator = statsOutput ? new StatisticsAccumulator(statsOutput === 'spatial' ? 2023 : statsOutput === 'pool3' ? 2048 : 1008) : null;
    const kept = new Map<InceptionOutput, Float32Array[]>(keep.map((k) => [k, []]));
    const bar = new cliProgress.SingleBar({ stream: this.io.err, format: `${dir} [{bar}] {value}/{total} images | {duration}s` }, cliProgress.Presets.shades_classic);
    bar.start(files.length, 0);
    let done = 0;
    try {
      for await (const batch of imageBatches(files, this.options.batchSize)) {
        try {
          const outs = await inceptionOutputs(model, batch, wanted, this.options.preprocess);
          for (const name of wanted) {
            const values = (await outs[name]!.data()) as Float32Array;
            if (name === statsOutput) accumulator!.add(values);
            kept.get(name)?.push(values);
          }
          tf.dispose(Object.values(outs));
          done += batch.shape[0];
        } finally {
          batch.dispose();
        }
        bar.update(done);
      }
    } finally {
      bar.stop();
    }
    const matrices = new Map<InceptionOutput, FeatureMatrix>();
    for (const [name, parts] of kept) {
      const data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let offset = 0;
      for (const p of parts) {
        data.set(p, offset);
        offset += p.length;
      }
      matrices.set(name, { data, rows: files.length, dim: data.length / files.length });
    }
    return { accumulator, matrices };
  }

  dispose(): void {
    this.model?.dispose();
  }
}

function print(io: CliIo, json: boolean | undefined, result: Record<string, unknown>, text: string): void {
  io.out(json ? JSON.stringify(result) : text);
}

/**
 * The `nextdetail-eval` command line: `fid <a> <b>` (each a folder of images or a statistics file), `stats <dir> <out>`,
 * `merge <out> <states…>`, `is <dir>`. Returns the exit code; errors are reported on `io.err`.
 */
export async function main(argv: readonly string[], io: CliIo = { out: (l) => console.log(l), err: process.stderr }): Promise<number> {
  const program = new Command('nextdetail-eval')
    .description('FID, sFID, Inception Score and statistics with the reference FID-Inception network')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err.write(s) });

  addCommon(program.command('fid <a> <b>'))
    .description('Fréchet distance between two image folders or statistics files (.npz / .safetensors)')
    .option('--spatial', 'sFID: mixed_6/conv features (from statistics files: mu_s, sigma_s)')
    .action(async (a: string, b: string, opts: CommonOptions & { spatial?: boolean }) => {
      const session = new Session(opts, io);
      try {
        const output: InceptionOutput = opts.spatial ? 'spatial' : 'pool3';
        const sides: Array<{ stats: FeatureStatistics; features: FeatureMatrix | null }> = [];
        for (const path of [a, b]) {
          if (await isDirectory(path)) {
            await session.start();
            const { accumulator, matrices } = await session.extract(path, output, [output]);
            sides.push({ stats: accumulator!.statistics(), features: matrices.get(output)! });
          } else {
            sides.push({ stats: await loadStatistics(path, opts.spatial ? '_s' : ''), features: null });
          }
        }
        const [x, y] = sides as [(typeof sides)[0], (typeof sides)[0]];
        const d = x.stats.mu.length;
        // With no more images than dimensions the covariances are singular: the Gram route is exact there.
        const terms =
          x.features && y.features && (x.features.rows <= d || y.features.rows <= d)
            ? frechetDistanceFromFeatures(x.features, y.features)
            : frechetTerms(x.stats, y.stats);
        print(io, opts.json, { ...terms }, `${opts.spatial ? 'sFID' : 'FID'}: ${terms.fid}`);
      } finally {
        session.dispose();
      }
    });

  addCommon(program.command('stats <dir> <out>'))
    .description('statistics (mu, sigma) of an image folder, saved as .npz or .safetensors')
    .option('--state', 'save the mergeable accumulator (count, sum, sum_outer) instead, for `merge`')
    .option('--spatial', 'sFID features (mixed_6/conv) instead of pool3')
    .action(async (dir: string, out: string, opts: CommonOptions & { state?: boolean; spatial?: boolean }) => {
      const session = new Session(opts, io);
      try {
        await session.start();
        const { accumulator } = await session.extract(dir, opts.spatial ? 'spatial' : 'pool3', []);
        if (opts.state) await saveAccumulatorState(out, accumulator!.state());
        else await saveStatistics(out, accumulator!.statistics());
        print(io, opts.json, { out, count: accumulator!.count }, `wrote ${out} (${accumulator!.count} images)`);
      } finally {
        session.dispose();
      }
    });

  program
    .command('merge <out> <states...>')
    .description('merge accumulator states written by `stats --state` (shards) into statistics')
    .option('--json', 'print the result as one JSON line')
    .action(async (out: string, states: string[], opts: { json?: boolean }) => {
      let merged: StatisticsAccumulator | null = null;
      for (const path of states) {
        const state = await loadAccumulatorState(path);
        merged = merged ? merged.merge(state) : StatisticsAccumulator.fromState(state);
      }
      await saveStatistics(out, merged!.statistics());
      print(io, opts.json, { out, count: merged!.count }, `wrote ${out} (${merged!.count} images)`);
    });

  addCommon(program.command('is <dir>'))
    .description('Inception Score of an image folder (unbiased logits, contiguous splits)')
    .option('--splits <n>', 'number of splits', positiveInt, 10)
    .option('--shuffle', "shuffle first with numpy's RandomState(2020) permutation, as torch-fidelity does")
    .action(async (dir: string, opts: CommonOptions & { splits: number; shuffle?: boolean }) => {
      const session = new Session(opts, io);
      try {
        await session.start();
        const { matrices } = await session.extract(dir, null, ['logitsUnbiased']);
        const logits = matrices.get('logitsUnbiased')!;
        const r = inceptionScore(logits, { splits: Math.min(opts.splits, logits.rows), shuffle: opts.shuffle ?? false });
        print(io, opts.json, { mean: r.mean, std: r.std, splits: r.scores.length }, `IS: ${r.mean} ± ${r.std}`);
      } finally {
        session.dispose();
      }
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return e.exitCode ?? 1;
    io.err.write(`nextdetail-eval: ${e.message ?? String(err)}\n`);
    return 1;
  }
}
