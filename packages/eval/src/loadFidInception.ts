import { InvalidArgumentError, bytesFromUrl, describeValue, readPytorch, readSafetensors, toByteSource, type ByteInput, type ByteSource, type TensorSource } from '@nextdetail/core';
import { FidInception } from './inception/fidInception.js';

/**
 * Opens FID-Inception weights the user supplies — they cannot be bundled or downloaded by this package: a URL
 * (string or URL, fetched with range requests) or bytes (ArrayBuffer, typed array, Blob, ByteSource) of either a
 * PyTorch `.pth` (pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`, torch-fidelity's
 * `weights-inception-2015-12-05-6726825d.pth`, or a saved pytorch-fid `InceptionV3` state dict) or a safetensors
 * file with the same tensor names. The format is recognised from the first bytes (a zip archive is a .pth).
 */
export async function loadFidInception(input: string | URL | ByteInput): Promise<FidInception> {
  let source: ByteSource;
  if (typeof input === 'string' || input instanceof URL) {
    if (!/^(https?|blob|data):/.test(String(input))) {
      throw new InvalidArgumentError('input', 'an http(s) URL here (use loadFidInceptionFile from "@nextdetail/eval/node" for paths)', describeValue(String(input)));
    }
    source = await bytesFromUrl(input);
  } else {
    source = toByteSource(input, 'input');
  }
  return loadFromSource(source);
}

/** Loads the model from an opened ByteSource and closes it (the weights are copied into tensors). */
export async function loadFromSource(source: ByteSource): Promise<FidInception> {
  let checkpoint: { source: TensorSource; close(): Promise<void> };
  try {
    checkpoint = await openCheckpoint(source);
  } catch (err) {
    await source.close();
    throw err;
  }
  try {
    return await FidInception.load(checkpoint.source);
  } finally {
    await checkpoint.close();
  }
}

/** A ByteSource as a TensorSource: a zip (`PK\x03\x04`) is read as a torch checkpoint, anything else as safetensors. */
export async function openCheckpoint(source: ByteSource): Promise<{ source: TensorSource; close(): Promise<void> }> {
  const head = await source.read(0, Math.min(4, source.size));
  const isZip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
  if (isZip) {
    const checkpoint = await readPytorch(source);
    return { source: checkpoint.stateDict(), close: () => checkpoint.close() };
  }
  const file = await readSafetensors(source);
  return { source: file, close: () => file.close() };
}
