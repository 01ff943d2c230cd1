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
    /** The envelope's job id, when the body parsed far enough to name a well-formed one. */
    readonly jobId?: string,
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

/**
 * Classes of model-call failure: stable values (metric dimension `errorClass`, ledger, logs).
 * Every provider maps its failures (Bedrock exceptions, HTTP statuses, socket errors, aborts)
 * onto these, and `MODEL_ERROR_TRAITS` says what each one means for the retry policy and breaker.
 */
export const MODEL_ERROR_CLASS = {
  /** 429 / ThrottlingException: slow down and try again (Retry-After honoured). */
  THROTTLED: 'Throttled',
  /** 429 insufficient_quota, spend or billing limit, ServiceQuotaExceeded: no retry will help this hour. */
  QUOTA_EXHAUSTED: 'QuotaExhausted',
  /** 500 / InternalServerException, and any other 5xx. */
  SERVER_ERROR: 'ServerError',
  /** 502 Bad Gateway. */
  BAD_GATEWAY: 'BadGateway',
  /** 503 / ServiceUnavailableException. */
  SERVICE_UNAVAILABLE: 'ServiceUnavailable',
  /** 529 (Anthropic's "overloaded"). */
  OVERLOADED: 'Overloaded',
  /** 408, 504, ModelTimeoutException, or our own per-call timeout (the AbortSignal fired). */
  TIMEOUT: 'Timeout',
  /** Connection reset, refused, or closed before an answer. */
  NETWORK: 'Network',
  /** ModelNotReadyException: the model is being loaded. */
  MODEL_NOT_READY: 'ModelNotReady',
  /** ModelErrorException / ModelStreamErrorException: the model failed while processing. */
  MODEL_ERROR: 'ModelError',
  /** 409 / ConflictException. */
  CONFLICT: 'Conflict',
  /** 400, 413, 422 / ValidationException: this request can never succeed as it is. */
  BAD_REQUEST: 'BadRequest',
  /** 401, 403 / AccessDeniedException. */
  ACCESS_DENIED: 'AccessDenied',
  /** 404 / ResourceNotFoundException: no such model. */
  NOT_FOUND: 'NotFound',
  /** The provider refused the content (content filter, guardrail). */
  CONTENT_FILTERED: 'ContentFiltered',
  /** The answer was not in the provider's documented shape. */
  BAD_RESPONSE: 'BadResponse',
  UNKNOWN: 'Unknown',
} as const;
export type ModelErrorClass = (typeof MODEL_ERROR_CLASS)[keyof typeof MODEL_ERROR_CLASS];

/**
 * What each class means. `retryable`: the same call may succeed if tried again (the retry policy
 * retries only these). `systemic`: the failure says the model or account is unhealthy rather than
 * this request bad, so it counts against the model's shared breaker. `rateLimited`: the provider
 * is up and answered at once, asking us to slow down — paced against (lambda/resilience/
 * rate-limiter.ts), deferred to the queue, never a breaker failure nor a reason to fall back
 * while the record has receives left (see `isRateLimited` and shared-breaker.ts,
 * "rate limited vs outage").
 *
 * Throttled is the one rate-limited class. It is not systemic: a 429 says "you are over your
 * quota", which is a statement about our rate, not about the provider's health. Counting it as a
 * failure opened the primary's breaker, then the secondary's, under nothing worse than a burst,
 * and served rules answers (issue 14). QuotaExhausted (spend limit, insufficient_quota) stays
 * systemic and not retryable: no pacing brings it back this hour.
 */
export const MODEL_ERROR_TRAITS: Readonly<Record<ModelErrorClass, { readonly retryable: boolean; readonly systemic: boolean; readonly rateLimited?: true }>> = {
  Throttled: { retryable: true, systemic: false, rateLimited: true },
  QuotaExhausted: { retryable: false, systemic: true },
  ServerError: { retryable: true, systemic: true },
  BadGateway: { retryable: true, systemic: true },
  ServiceUnavailable: { retryable: true, systemic: true },
  Overloaded: { retryable: true, systemic: true },
  Timeout: { retryable: true, systemic: true },
  Network: { retryable: true, systemic: true },
  ModelNotReady: { retryable: true, systemic: true },
  ModelError: { retryable: true, systemic: true },
  Conflict: { retryable: true, systemic: false },
  BadRequest: { retryable: false, systemic: false },
  AccessDenied: { retryable: false, systemic: true },
  NotFound: { retryable: false, systemic: true },
  ContentFiltered: { retryable: false, systemic: false },
  BadResponse: { retryable: true, systemic: true },
  Unknown: { retryable: true, systemic: true },
};

/**
 * The model call failed. `retryable` follows from `errorClass` (see `MODEL_ERROR_TRAITS`);
 * `retryAfterMs` is the provider's Retry-After, which a retry never undercuts.
 */
export class ModelCallError extends PipelineError {
  override readonly name = 'ModelCallError';
  readonly retryable: boolean;
  /** Counts against the model's breaker. */
  readonly systemic: boolean;
  readonly retryAfterMs?: number;
  /** The HTTP status, when there was one. */
  readonly status?: number;

  constructor(
    readonly errorClass: ModelErrorClass,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number; status?: number },
  ) {
    super(message, options);
    const traits = MODEL_ERROR_TRAITS[errorClass];
    this.retryable = traits.retryable;
    this.systemic = traits.systemic;
    this.retryAfterMs = options?.retryAfterMs;
    this.status = options?.status;
  }
}

/**
 * Whether an error says "rate limited" (slow down, the provider is healthy) rather than "outage":
 * a Throttled ModelCallError (429 / ThrottlingException), or the limiter's own RateLimitedError.
 */
export function isRateLimited(error: unknown): boolean {
  if (error instanceof RateLimitedError) return true;
  return error instanceof ModelCallError && MODEL_ERROR_TRAITS[error.errorClass].rateLimited === true;
}

/**
 * The rate limiter has no token for this call soon enough (lambda/resilience/rate-limiter.ts):
 * the record goes back to the queue for `retryAfterMs` — a deferral, not a reason to try a
 * weaker tier — unless this is its last receive.
 */
export class RateLimitedError extends PipelineError {
  override readonly name = 'RateLimitedError';
  readonly retryable = true;

  constructor(
    readonly modelId: string,
    /** When a token is expected for this model (the queue delay's floor). */
    readonly retryAfterMs: number,
    /** The limiter's mode: a configured quota, or a rate learned from 429s. */
    readonly mode: 'quota' | 'adaptive',
  ) {
    super(`no ${mode === 'quota' ? 'quota' : 'learned-rate'} token for ${modelId}; retry in ${Math.round(retryAfterMs)} ms`);
  }
}

/** The model answered, but the answer is not valid JSON of the task's output schema. */
export class InvalidModelOutputError extends PipelineError {
  override readonly name = 'InvalidModelOutputError';
  readonly retryable = false;
}

/**
 * No model tier may be called because their shared breakers are open, and the stage defers such
 * records: it goes back to the queue, hidden at least until the breaker may let a probe through.
 */
export class BreakerOpenError extends PipelineError {
  override readonly name = 'BreakerOpenError';
  readonly retryable = true;

  constructor(
    readonly modelIds: readonly string[],
    /** How long until the first of them may be probed. */
    readonly retryAfterMs: number,
  ) {
    super(`the breaker of ${modelIds.join(', ')} is open; retry in ${Math.round(retryAfterMs)} ms`);
  }
}

/** The hour's token or cost budget is spent, and the stage defers such records to the next hour. */
export class BudgetExhaustedError extends PipelineError {
  override readonly name = 'BudgetExhaustedError';
  readonly retryable = true;

  constructor(
    readonly usedPercent: number,
    /** Until the next hour's budget starts. */
    readonly retryAfterMs: number,
  ) {
    super(`the hourly model budget is spent (${usedPercent.toFixed(0)}% used); retry in ${Math.round(retryAfterMs)} ms`);
  }
}

/** A dependency (DynamoDB, SQS, Secrets Manager) failed; the record goes back to the queue. */
export class DependencyError extends PipelineError {
  override readonly name = 'DependencyError';
  readonly retryable = true;

  constructor(
    readonly dependency: 'dynamodb' | 'sqs' | 'secretsmanager',
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
