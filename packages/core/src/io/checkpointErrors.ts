import { NextDetailError } from '../errors.js';

/**
 * A checkpoint file is malformed: a bad header, an impossible layout, a value the format forbids. `file` is the
 * source's name (path, URL, "buffer"); `reason` says what was expected and what was found.
 */
export class CheckpointFormatError extends NextDetailError {
  readonly file: string;
  readonly reason: string;

  constructor(file: string, reason: string) {
    super('ERR_CHECKPOINT_FORMAT', `${file}: malformed checkpoint: ${reason}`);
    this.file = file;
    this.reason = reason;
  }
}
