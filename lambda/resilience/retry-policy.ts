import { setTimeout as sleepFor } from 'node:timers/promises';
import { ModelCallError, TimeBudgetExhaustedError } from '../errors/pipeline-errors';

/** Options of a {@link RetryPolicy}. Durations in ms. */
export interface RetryPolicyOptions {
  /** Attempts in all, the first included. @default 3 */
  readonly maxAttempts?: number;
  /** Backoff before retry n is uniform in [0, min(maxDelayMs, baseDelayMs × 2^(n−1))) (full jitter). @default 200 */
  readonly baseDelayMs?: number;
  /** @default 5000 */
  readonly maxDelayMs?: number;
  /** One attempt never gets more than this, nor more than the time left. @default 10000 */
  readonly callTimeoutMs?: number;
  /** An attempt is not started with less time than this left. @default min(1000, callTimeoutMs / 4) */
  readonly minAttemptMs?: number;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default an abortable timer */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** What an attempt gets: its number (1-based), its own AbortSignal and the timeout behind it. */
export interface AttemptContext {
  readonly attempt: number;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

/** Why the policy stopped trying. */
export type GiveUpReason = 'not-retryable' | 'attempts' | 'time' | 'refused';

export interface RetryEvents {
  /** Before each backoff: the error that caused it and the delay chosen (≥ its Retry-After). */
  readonly onRetry?: (event: { readonly attempt: number; readonly delayMs: number; readonly error: unknown }) => void;
  /** When the policy stops with an error. */
  readonly onGiveUp?: (event: { readonly attempts: number; readonly reason: GiveUpReason; readonly error: unknown }) => void;
}

export interface ExecuteOptions extends RetryEvents {
  /** Epoch ms by which every attempt and backoff must be over. */
  readonly deadline: number;
  /** Attempts for this call, at most the policy's (a breaker probe gets one). */
  readonly maxAttempts?: number;
  /** Asked before each retry (e.g. "is the breaker still closed?"); false stops with the last error. */
  readonly mayRetry?: () => boolean;
  /** Aborts the attempt in flight and any backoff. */
  readonly signal?: AbortSignal;
  /**
   * Runs before each attempt, before its timeout starts (e.g. waiting for a rate limiter's
   * token): time spent here is not taken from the call. What it throws ends the policy as is.
   */
  readonly beforeAttempt?: (attempt: number) => Promise<void>;
}

/**
 * The one retry layer of a model call: exponential backoff with full jitter and a cap, Retry-After
 * honoured and never undercut, only retryable `ModelCallError`s retried, attempts bounded, and the
 * whole thing bounded by a deadline (the invocation's remaining time minus its margin): each
 * attempt's timeout is the smaller of `callTimeoutMs` and the time left, and a retry whose
 * backoff would leave less than `minAttemptMs` is not made. So attempts × timeout + backoff can
 * never outlast the deadline, whatever the provider does.
 *
 * Written here rather than with cockatiel's `retry()` (checked against cockatiel 3.2.1): it decides
 * to retry before it asks the backoff for the delay, and a backoff can only return a duration, so
 * the policy cannot give up when the next delay would outlast the invocation (a `DelegateBackoff`
 * that reads the deadline could shorten the delay, not cancel the retry); and it then sleeps that
 * delay without listening to the AbortSignal, so an abort cannot cut the sleep short. Seeded
 * jitter and Retry-After would not be reasons: `DelegateBackoff` takes any function, and its
 * context carries the failed attempt's error.
 *
 * @example
 * const policy = new RetryPolicy({ maxAttempts: 3, callTimeoutMs: 10_000 });
 * const answer = await policy.execute(({ signal }) => provider.complete({ ...request, signal }), { deadline });
 */
export class RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly callTimeoutMs: number;
  readonly minAttemptMs: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(options: RetryPolicyOptions = {}) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.minAttemptMs = options.minAttemptMs ?? Math.min(1000, this.callTimeoutMs / 4);
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }).catch(() => undefined));
  }

  /** The backoff before retry `attempt` (1 = the first retry) without Retry-After: full jitter under the cap. */
  backoff(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }

  async execute<T>(fn: (context: AttemptContext) => Promise<T>, options: ExecuteOptions): Promise<T> {
    const maxAttempts = Math.max(1, Math.min(this.maxAttempts, options.maxAttempts ?? this.maxAttempts));
    let lastError: unknown;
    for (let attempt = 1; ; attempt += 1) {
      if (options.beforeAttempt) {
        try {
          await options.beforeAttempt(attempt);
        } catch (error) {
          throw this.giveUp(options, attempt - 1, 'refused', error);
        }
      }
      const left = options.deadline - this.now();
      if (left < this.minAttemptMs || options.signal?.aborted) {
        // Only reachable on the first attempt: later ones are checked before their backoff.
        throw this.giveUp(options, attempt - 1, 'time', lastError ?? new TimeBudgetExhaustedError('too little time left for a model call'));
      }
      const timeoutMs = Math.min(this.callTimeoutMs, left);
      const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
      try {
        return await fn({ attempt, signal, timeoutMs });
      } catch (error) {
        lastError = error;
        if (!(error instanceof ModelCallError) || !error.retryable) throw this.giveUp(options, attempt, 'not-retryable', error);
        if (attempt >= maxAttempts) throw this.giveUp(options, attempt, 'attempts', error);
        if (options.mayRetry && !options.mayRetry()) throw this.giveUp(options, attempt, 'refused', error);
        // Retry-After is a floor, never undercut; jitter only spreads retries above it.
        const delayMs = Math.max(this.backoff(attempt), error.retryAfterMs ?? 0);
        if (this.now() + delayMs + this.minAttemptMs > options.deadline) throw this.giveUp(options, attempt, 'time', error);
        options.onRetry?.({ attempt, delayMs, error });
        await this.sleep(delayMs, options.signal);
      }
    }
  }

  private giveUp(options: ExecuteOptions, attempts: number, reason: GiveUpReason, error: unknown): unknown {
    options.onGiveUp?.({ attempts, reason, error });
    return error;
  }
}
