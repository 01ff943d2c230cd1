/**
 * Errors of the scheduled monitors and of the commands that share their code (`pipectl drift`,
 * `pipectl jobs`). Code branches on the class or `name`, never on message text. A monitor run that
 * throws fails its invocation (visible as a Lambda error); the next scheduled run is its retry.
 */
export abstract class MonitorError extends Error {
  /** Whether running again later can help. */
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An AWS service the monitor depends on failed (throttled, unavailable, denied). */
export class MonitorDependencyError extends MonitorError {
  override readonly name = 'MonitorDependencyError';
  readonly retryable = true;

  constructor(
    readonly dependency: 'dynamodb' | 'cloudwatch' | 'lambda' | 'sqs',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The monitor's configuration (environment, arguments) is invalid: running again will not help. */
export class MonitorConfigError extends MonitorError {
  override readonly name = 'MonitorConfigError';
  readonly retryable = false;
}

/** A job id, baseline window or other argument names nothing usable. */
export class MonitorInputError extends MonitorError {
  override readonly name = 'MonitorInputError';
  readonly retryable = false;
}
