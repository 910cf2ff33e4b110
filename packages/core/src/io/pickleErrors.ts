import { NextDetailError } from '../errors.js';

/**
 * A pickle asked for something outside the state-dict allow-list: a global such as `posix.system` or
 * `builtins.eval`, or a call on anything but the allow-listed constructors. It is thrown when the opcode is read,
 * before the global is used, so nothing the pickle names is ever run — the promise of `torch.load(weights_only=True)`.
 */
export class UnsafePickleError extends NextDetailError {
  readonly file: string;
  /** What was refused, e.g. `posix.system`, or `a call of str` for a REDUCE on a non-callable. */
  readonly target: string;

  constructor(file: string, target: string, reason: string) {
    super('ERR_UNSAFE_PICKLE', `${file}: unsafe pickle: refused ${target}: ${reason}`);
    this.file = file;
    this.target = target;
  }
}
