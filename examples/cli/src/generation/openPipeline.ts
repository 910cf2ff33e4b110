import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@nextdetail/core';
import { loadPipeline, type Pipeline } from '@nextdetail/samplers';

/** Reads a pipeline file (`writePipeline`'s format) from disk; a missing file is an error naming `flag`. */
export async function openPipeline(path: string | undefined, flag = '--model'): Promise<Pipeline> {
  return loadPipeline(await readPipelineBytes(path, flag));
}

/** The bytes of the pipeline file at `path`; a missing or unreadable file is an error naming `flag`. */
export async function readPipelineBytes(path: string | undefined, flag: string): Promise<Uint8Array> {
  if (path === undefined) throw new InvalidArgumentError(flag, 'a pipeline .safetensors file', 'nothing');
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new InvalidArgumentError(flag, 'a readable pipeline .safetensors file', `${JSON.stringify(path)} (${(err as Error).message})`);
  }
}
