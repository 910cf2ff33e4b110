/**
 * Every error nextdetail throws on purpose is a NextDetailError, so callers can tell a bad argument or a missing
 * backend apart from a bug. `code` is stable across versions; messages may be reworded.
 */
export class NextDetailError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An argument does not meet its contract. Names the argument, what was expected and what was given. */
export class InvalidArgumentError extends NextDetailError {
  readonly argument: string;
  readonly expected: string;
  readonly actual: string;

  constructor(argument: string, expected: string, actual: string, code = 'ERR_INVALID_ARGUMENT') {
    super(code, `${argument}: expected ${expected}, got ${actual}`);
    this.argument = argument;
    this.expected = expected;
    this.actual = actual;
  }
}

export class ShapeError extends InvalidArgumentError {
  constructor(argument: string, expected: string, actual: string) {
    super(argument, expected, actual, 'ERR_SHAPE');
  }
}

export class DTypeError extends InvalidArgumentError {
  constructor(argument: string, expected: string, actual: string) {
    super(argument, expected, actual, 'ERR_DTYPE');
  }
}

/** Values outside the allowed range, including NaN and ±Infinity. */
export class ValueRangeError extends InvalidArgumentError {
  constructor(argument: string, expected: string, actual: string) {
    super(argument, expected, actual, 'ERR_VALUE_RANGE');
  }
}

/** A backend was asked for by name but cannot run here; `reason` says why. */
export class BackendUnavailableError extends NextDetailError {
  readonly backend: string;
  readonly reason: string;

  constructor(backend: string, reason: string) {
    super('ERR_BACKEND_UNAVAILABLE', `backend "${backend}" is unavailable: ${reason}`);
    this.backend = backend;
    this.reason = reason;
  }
}
