import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '@nextdetail/core';
import { decodePng } from './png.js';
import type { Raster } from './raster.js';

/** Chelsea the cat, 256×256, CC0 (see assets/README.md). Resolved from dist/, where the built CLI runs. */
const SAMPLE_IMAGE = fileURLToPath(new URL('../assets/sample.png', import.meta.url));

/** Reads the input PNG, or the embedded sample when no path is given. Failures name the `input` argument. */
export async function loadInput(path: string | undefined): Promise<{ path: string; image: Raster }> {
  const file = path ?? SAMPLE_IMAGE;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new InvalidArgumentError('input', 'a readable PNG file', `${JSON.stringify(file)} (${reason(err)})`);
  }
  try {
    return { path: file, image: decodePng(bytes) };
  } catch (err) {
    throw new InvalidArgumentError('input', 'a PNG file', `${JSON.stringify(file)} (${reason(err)})`);
  }
}

function reason(err: unknown): string {
  const { code, message } = err as NodeJS.ErrnoException;
  return code === 'ENOENT' ? 'no such file' : message;
}
