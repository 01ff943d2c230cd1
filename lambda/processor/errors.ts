/**
 * The processor's error hierarchy. Code branches on the class or on `name`, never on message
 * text. `retryable` says whether trying the same record again can help: a retryable failure goes
 * back to the queue (batch item failure), a non-retryable one never does.
 */
export abstract class PipelineError extends Error {
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Why a message was rejected as bad input. Stable values: they appear in DLQ attributes and metrics. */
export const REJECTION_REASON = {
  NOT_JSON: 'NOT_JSON',
  TOO_LARGE: 'TOO_LARGE',
  TOO_DEEP: 'TOO_DEEP',
  HOSTILE_KEY: 'HOSTILE_KEY',
  INVALID_ENVELOPE: 'INVALID_ENVELOPE',
  UNKNOWN_TASK: 'UNKNOWN_TASK',
  INVALID_INPUT: 'INVALID_INPUT',
} as const;
export type RejectionReason = (typeof REJECTION_REASON)[keyof typeof REJECTION_REASON];

/** The message is bad input: rejected on its first receive, sent to the DLQ with its reason, never retried. */
export class RejectedInputError extends PipelineError {
  override readonly name = 'RejectedInputError';
  readonly retryable = false;

  constructor(
    readonly reason: RejectionReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

/** Another live invocation holds the lease on this key; try again after a short visibility delay. */
export class ClaimedElsewhereError extends PipelineError {
  override readonly name = 'ClaimedElsewhereError';
  readonly retryable = true;

  constructor(
    readonly key: string,
    readonly leaseUntil: number,
  ) {
    super(`key ${key} is leased by another invocation until ${new Date(leaseUntil).toISOString()}`);
  }
}

/** Not enough of the invocation's time is left to do the work safely; the record goes back to the queue. */
export class TimeBudgetExhaustedError extends PipelineError {
  override readonly name = 'TimeBudgetExhaustedError';
  readonly retryable = true;
}

/** The model call failed. `retryable` comes from the provider's classification of the failure. */
export class ModelCallError extends PipelineError {
  override readonly name = 'ModelCallError';

  constructor(
    message: string,
    readonly retryable: boolean,
    readonly errorClass: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }

  readonly retryAfterMs?: number;
}

/** The model answered, but the answer is not valid JSON of the task's output schema. */
export class InvalidModelOutputError extends PipelineError {
  override readonly name = 'InvalidModelOutputError';
  readonly retryable = false;
}

/** A dependency (DynamoDB, SQS) failed; the record goes back to the queue. */
export class DependencyError extends PipelineError {
  override readonly name = 'DependencyError';
  readonly retryable = true;

  constructor(
    readonly dependency: 'dynamodb' | 'sqs',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Any thrown value as a PipelineError: unknown errors count as retryable dependency failures. */
export function asPipelineError(error: unknown): PipelineError {
  if (error instanceof PipelineError) return error;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new DependencyError('dynamodb', message, { cause: error });
}

/** The class name of an error for metrics and logs (low cardinality). */
export function errorClassOf(error: unknown): string {
  if (error instanceof ModelCallError) return error.errorClass;
  if (error instanceof RejectedInputError) return error.reason;
  if (error instanceof Error) return error.name;
  return 'Unknown';
}
