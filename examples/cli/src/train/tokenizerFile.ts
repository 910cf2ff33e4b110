import { readFile } from 'node:fs/promises';
import { CheckpointFormatError, InvalidArgumentError, readSafetensors, type SafetensorsFile, type WritableRawTensor, writeSafetensors } from '@nextdetail/core';
import type { PipelineInfo, PipelineMethod, TokenizerConfigOf } from '@nextdetail/samplers';
import { METHODS } from './presets.js';

/** `__metadata__.kind` of the file `train-tokenizer` writes. */
export const TOKENIZER_FILE_KIND = 'nextdetail-tokenizer';

/** A trained tokenizer: its state dict (the trainer's `checkpoint()`), the configs to rebuild it, and provenance. */
export interface TokenizerFile {
  method: PipelineMethod;
  tokenizerConfig: TokenizerConfigOf<PipelineMethod>;
  info: PipelineInfo;
  /** The file itself: its tensors are the state dict, as `writePipeline` takes it. */
  bytes: Uint8Array;
  file: SafetensorsFile;
}

/** The trainer's checkpoint with the method, tokenizer config and info added to its metadata. */
export async function writeTokenizerFile(
  checkpoint: Uint8Array,
  { method, tokenizerConfig, info }: Pick<TokenizerFile, 'method' | 'tokenizerConfig' | 'info'>,
): Promise<Uint8Array> {
  const file = await readSafetensors(checkpoint);
  const tensors: Record<string, WritableRawTensor> = {};
  for (const name of file.keys()) tensors[name] = (await file.rawTensor(name)) as WritableRawTensor;
  await file.close();
  return writeSafetensors(tensors, {
    format: 'pt',
    kind: TOKENIZER_FILE_KIND,
    method,
    tokenizer_config: JSON.stringify(tokenizerConfig),
    info: JSON.stringify(info),
  });
}

/** Reads a `train-tokenizer` output, checked enough to name the flag when it is something else. */
export async function readTokenizerFile(path: string): Promise<TokenizerFile> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new InvalidArgumentError('--tokenizer', 'a tokenizer file written by train-tokenizer', `${JSON.stringify(path)} (${(err as Error).message})`);
  }
  const file = await readSafetensors(bytes);
  const meta = file.metadata;
  if (meta.kind !== TOKENIZER_FILE_KIND || !(METHODS as readonly string[]).includes(meta.method ?? '')) {
    throw new InvalidArgumentError('--tokenizer', `a tokenizer file written by train-tokenizer (kind "${TOKENIZER_FILE_KIND}")`, `${path} of kind ${JSON.stringify(meta.kind)}`);
  }
  try {
    return {
      method: meta.method as PipelineMethod,
      tokenizerConfig: JSON.parse(meta.tokenizer_config ?? ''),
      info: JSON.parse(meta.info ?? ''),
      bytes,
      file,
    };
  } catch {
    throw new CheckpointFormatError(path, 'metadata tokenizer_config or info is not JSON');
  }
}
