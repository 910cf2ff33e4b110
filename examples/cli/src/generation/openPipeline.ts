import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@nextdetail/core';
import { loadPipeline, type Pipeline } from '@nextdetail/samplers';

/** Reads a pipeline file (`writePipeline`'s format) from disk; a missing file is an error naming `flag`. */
export async function openPipeline(path: string | undefined, flag = '--model'): Promise<Pipeline> {
  if (path === undefined) throw new InvalidArgumentError(flag, 'a pipeline .safetensors file', 'nothing');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new InvalidArgumentError(flag, 'a readable pipeline .safetensors file', `${JSON.stringify(path)} (${(err as Error).message})`);
  }
  return loadPipeline(bytes);
}
