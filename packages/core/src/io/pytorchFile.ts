import { readFromFile } from './fileSource.js';
import { type PytorchCheckpoint, readPytorch, type ReadPytorchOptions } from './pytorch.js';

/**
 * `readPytorch` for a path on disk (Node only). The file is opened, not loaded: the zip's central directory and the
 * pickle are read at once, each storage's bytes when a tensor is asked for. The returned checkpoint's `close()`
 * closes the file; when opening fails it is closed here.
 */
export function readPytorchFile(path: string, options?: ReadPytorchOptions): Promise<PytorchCheckpoint> {
  return readFromFile(path, (source) => readPytorch(source, options));
}
