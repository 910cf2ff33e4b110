import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '@nextdetail/core';
import {
  CART_AMBROSIO_TORTORELLI,
  DEFAULT_GUIDED_FILTER,
  decompose,
  disposeDecomposition,
  type SmoothingMethod,
} from '@nextdetail/decompose';
import { Command, Option } from 'commander';
import { renameArgument } from './argumentNames.js';
import { describeBackend, startBackend } from './backend.js';
import { loadInput } from './input.js';
import { layerImages } from './layerImages.js';
import { numberArgument } from './numberArgument.js';
import { encodePng } from './png.js';
import { progressBar } from './progress/progressBar.js';
import { rasterFromTensor, rasterToTensor } from './raster.js';

const METHODS = ['ambrosio-tortorelli', 'guided-filter'] as const satisfies readonly SmoothingMethod[];

interface DecomposeFlags {
  order: number;
  method: SmoothingMethod;
  alpha?: number;
  beta?: number;
  epsilon?: number;
  iterations?: number;
  radius?: number;
  out: string;
  backend?: string;
}

/** Which flags each method reads; giving one to the other method is an error rather than silently ignored. */
const METHOD_FLAGS: Record<SmoothingMethod, readonly (keyof DecomposeFlags)[]> = {
  'ambrosio-tortorelli': ['alpha', 'beta', 'epsilon', 'iterations'],
  'guided-filter': ['radius', 'epsilon'],
};

/** The library's argument names, as this command's flags. */
const FLAG_NAMES: Readonly<Record<string, string>> = {
  image: 'input',
  'options.order': '--order',
  'options.method': '--method',
  'options.ambrosioTortorelli.alpha': '--alpha',
  'options.ambrosioTortorelli.beta': '--beta',
  'options.ambrosioTortorelli.epsilon': '--epsilon',
  'options.ambrosioTortorelli.iterations': '--iterations',
  'options.guidedFilter.radius': '--radius',
  'options.guidedFilter.epsilon': '--epsilon',
};

const AT = CART_AMBROSIO_TORTORELLI;
const GF = DEFAULT_GUIDED_FILTER;

export function decomposeCommand(): Command {
  return new Command('decompose')
    .description('split an image into a smooth base and detail layers, I = B_n + D_n + … + D_1 (CART §3.1)')
    .argument('[input]', 'PNG to decompose (default: the embedded 256×256 sample photograph)')
    .option('--order <n>', 'number of detail layers', numberArgument, 3)
    .addOption(new Option('--method <name>', 'edge-aware smoother').choices(METHODS).default(METHODS[0]))
    .option('--alpha <value>', `Ambrosio–Tortorelli smoothness weight α (default: ${AT.alpha})`, numberArgument)
    .option('--beta <value>', `Ambrosio–Tortorelli edge-length cost β (default: ${AT.beta})`, numberArgument)
    .option(
      '--epsilon <value>',
      `Ambrosio–Tortorelli edge band width ε (default: ${AT.epsilon}); guided filter: variance ε (default: ${GF.epsilon})`,
      numberArgument,
    )
    .option('--iterations <n>', `Ambrosio–Tortorelli outer iterations (default: ${AT.iterations})`, numberArgument)
    .option('--radius <n>', `guided-filter box radius (default: ${GF.radius})`, numberArgument)
    .option('--out <dir>', 'directory for the PNGs', 'nextdetail-out')
    .option(
      '--backend <list>',
      'tfjs backends to try in order, e.g. "webgpu,cpu" (default: $NEXTDETAIL_BACKEND, else webgpu,wasm,cpu)',
    )
    .action(async (input: string | undefined, flags: DecomposeFlags) => {
      try {
        await runDecompose(input, flags);
      } catch (err) {
        throw renameArgument(err, FLAG_NAMES);
      }
    });
}

async function runDecompose(inputPath: string | undefined, flags: DecomposeFlags): Promise<void> {
  const started = performance.now();
  const allowed = METHOD_FLAGS[flags.method];
  for (const [method, names] of Object.entries(METHOD_FLAGS)) {
    for (const name of names) {
      if (flags[name] !== undefined && !allowed.includes(name)) {
        const expected = `to be given only with --method ${method}`;
        throw new InvalidArgumentError(`--${name}`, expected, `--method ${flags.method}`);
      }
    }
  }
  const { path, image } = await loadInput(inputPath);
  const outDir = resolve(flags.out);
  try {
    await mkdir(outDir, { recursive: true });
  } catch (err) {
    const actual = `${JSON.stringify(flags.out)} (${(err as Error).message})`;
    throw new InvalidArgumentError('--out', 'a directory that can be created', actual);
  }
  console.log(`input           ${path} (${image.width}×${image.height})`);

  const backend = await startBackend(flags.backend, (name, reason) => {
    console.error(`note: skipped backend ${name}: ${reason}`);
  });
  console.log(`backend         ${describeBackend(backend)}`);

  const inputTensor = rasterToTensor(image);
  const bar = progressBar('decomposing [{bar}] level {value}/{total} | {duration}s', flags.order, 0, {});
  const decomposeStarted = performance.now();
  const decomposition = await decompose(inputTensor, {
    order: flags.order,
    method: flags.method,
    ambrosioTortorelli: { alpha: flags.alpha, beta: flags.beta, epsilon: flags.epsilon, iterations: flags.iterations },
    guidedFilter: { radius: flags.radius, epsilon: flags.epsilon },
    progress: ({ level }) => bar.update(level, {}),
  }).finally(() => bar.stop());
  const decomposeSeconds = (performance.now() - decomposeStarted) / 1000;

  const reconstruction = tf.tidy(() => tf.addN([decomposition.base, ...decomposition.details]));
  const maxError = tf.tidy(() => tf.max(tf.abs(tf.sub(inputTensor, reconstruction))));
  try {
    console.log(`decomposition   ${flags.method}, order ${flags.order}: ${decomposeSeconds.toFixed(2)} s`);
    console.log(`reconstruction  max|I − B − ΣD| = ${(await maxError.data())[0]!.toExponential(2)}`);
    const layers = {
      input: image,
      base: await rasterFromTensor(decomposition.base),
      details: await Promise.all(decomposition.details.map(rasterFromTensor)),
      edges: await Promise.all(decomposition.edges.map(rasterFromTensor)),
      reconstruction: await rasterFromTensor(reconstruction),
    };
    console.log(`output          ${outDir}`);
    for (const { file, raster, note } of layerImages(layers)) {
      await writeFile(join(outDir, file), encodePng(raster));
      console.log(`  ${note ? file.padEnd(20) + note : file}`);
    }
  } finally {
    disposeDecomposition(decomposition);
    tf.dispose([inputTensor, reconstruction, maxError]);
  }
  console.log(`total           ${((performance.now() - started) / 1000).toFixed(2)} s`);
}
