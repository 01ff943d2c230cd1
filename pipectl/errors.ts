/**
 * pipectl's errors. Each carries the exit status the CLI ends with (1: the operation failed,
 * 2: the command line was wrong) and a message that says what to do next, because the reader is
 * an on-call engineer at 2 AM, not a developer with a debugger.
 */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export abstract class PipectlError extends Error {
  abstract readonly exitCode: ExitCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The command line is wrong: a missing or bad option, a file that is not there. Exit 2. */
export class UsageError extends PipectlError {
  override readonly name = 'UsageError';
  readonly exitCode = EXIT.USAGE;
}

/** The target (a deployed stage or a local pipeline) cannot be found or reached. Exit 1. */
export class TargetNotFoundError extends PipectlError {
  override readonly name = 'TargetNotFoundError';
  readonly exitCode = EXIT.FAILURE;
}

/** A state-changing command was not confirmed (no `--yes` and no terminal to ask on). Exit 2. */
export class NotConfirmedError extends PipectlError {
  override readonly name = 'NotConfirmedError';
  readonly exitCode = EXIT.USAGE;
}

/** Input lines failed validation; nothing was sent. Exit 1. */
export class InvalidInputError extends PipectlError {
  override readonly name = 'InvalidInputError';
  readonly exitCode = EXIT.FAILURE;

  constructor(
    message: string,
    readonly problems: ReadonlyArray<{ readonly line: number; readonly reason: string; readonly detail: string }>,
  ) {
    super(message);
  }
}

/** The operation ran and failed (an AWS call, a condition that does not hold). Exit 1. */
export class OperationFailedError extends PipectlError {
  override readonly name = 'OperationFailedError';
  readonly exitCode = EXIT.FAILURE;
}

/** The command refuses to act on this target (e.g. a game day against production). Exit 1. */
export class RefusedError extends PipectlError {
  override readonly name = 'RefusedError';
  readonly exitCode = EXIT.FAILURE;
}
