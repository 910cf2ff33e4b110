import {
  type ByteSource,
  bytesFromUrl,
  CheckpointFormatError,
  describeValue,
  InvalidArgumentError,
  readPytorch,
  readSafetensors,
  type TensorSource,
  toByteSource,
  type UrlSourceOptions,
} from '@nextdetail/core';

/**
 * Where pretrained weights come from: a URL (read with HTTP Range requests), bytes in memory, a Blob or File, a
 * ByteSource, or an already opened TensorSource (e.g. core's readSafetensors/readPytorch result), which stays the
 * caller's. Paths on disk go through `@nextdetail/tokenizers/node`.
 */
export type PretrainedSource = string | URL | ArrayBuffer | ArrayBufferView | Blob | ByteSource | TensorSource;

/** An opened checkpoint: its tensors, the safetensors `__metadata__` if any, and how to release it. */
export interface OpenedCheckpoint {
  source: TensorSource;
  metadata: Readonly<Record<string, string>>;
  format: 'safetensors' | 'pytorch' | 'tensors';
  close(): Promise<void>;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const PICKLE_PROTO = 0x80;
const JSON_OPEN = 0x7b;

/**
 * Opens `input` as a checkpoint, telling the formats apart by their first bytes rather than by a name: a zip archive
 * (`PK\x03\x04`) is a `torch.save` file, read by readPytorch, which descends into `['model']` or `['state_dict']`
 * when the root is not itself a state dict; an 8-byte length followed by `{` is safetensors. Anything else is a
 * CheckpointFormatError. The byte source is closed when opening fails; on success `close()` closes it.
 */
export async function openCheckpoint(input: PretrainedSource, options: UrlSourceOptions = {}): Promise<OpenedCheckpoint> {
  if (isTensorSource(input)) {
    return { source: input, metadata: {}, format: 'tensors', close: async () => {} };
  }
  let bytes: ByteSource;
  if (typeof input === 'string' || input instanceof URL) bytes = await bytesFromUrl(input, options);
  else {
    try {
      bytes = toByteSource(input as ArrayBuffer | ArrayBufferView | Blob | ByteSource, 'source');
    } catch {
      const expected = 'a URL, an ArrayBuffer, a typed array, a Blob, a ByteSource or a TensorSource';
      throw new InvalidArgumentError('source', expected, describeValue(input));
    }
  }
  try {
    const head = await bytes.read(0, Math.min(bytes.size, 9));
    if (ZIP_MAGIC.every((b, i) => head[i] === b)) {
      const checkpoint = await readPytorch(bytes);
      return { source: checkpoint, metadata: {}, format: 'pytorch', close: () => checkpoint.close() };
    }
    if (head.length === 9 && head[8] === JSON_OPEN) {
      const file = await readSafetensors(bytes);
      return { source: file, metadata: file.metadata, format: 'safetensors', close: () => file.close() };
    }
    const shown = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const legacy = head[0] === PICKLE_PROTO ? ' (a bare pickle: torch.save before PyTorch 1.6; re-save it with a newer torch)' : '';
    throw new CheckpointFormatError(
      bytes.name,
      `expected a safetensors file (8-byte header length, then "{") or a torch.save zip archive ("PK\\x03\\x04"), got first bytes ${shown || 'none'}${legacy}`,
    );
  } catch (err) {
    await bytes.close();
    throw err;
  }
}

export function isTensorSource(x: unknown): x is TensorSource {
  const s = x as TensorSource | null;
  return typeof s === 'object' && s !== null && typeof s.keys === 'function' && typeof s.info === 'function' && typeof s.tensor === 'function';
}
