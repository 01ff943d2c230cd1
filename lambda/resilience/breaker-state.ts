import { BREAKER_FORCED, BREAKER_STATE, type BreakerStateName } from '../contract';

/** Settings of the shared breaker (the stage config's `breaker` section). Durations in ms. */
export interface BreakerSettings {
  /** Failures in the sliding window that open the breaker; 0 turns this rule off. */
  readonly failureThreshold: number;
  /** Failure rate (%) that opens it once the window holds `minCalls` calls; 0 turns this rule off. */
  readonly failureRatePercent: number;
  readonly minCalls: number;
  readonly windowMs: number;
  /** Open this long before one probe is let through. */
  readonly cooldownMs: number;
  /** An instance trusts the state it read for this long. */
  readonly cacheMs: number;
  /**
   * ... and this long while the breaker is quiet: closed, not forced, and no failure in the window
   * as last read nor in this instance since. A quiet breaker only needs reading to learn that
   * another instance opened it, or that an operator forced it. @default cacheMs
   */
  readonly quietCacheMs?: number;
  /**
   * ... and this long while it is open and its cooldown runs (not forced): the cooldown's end is
   * known without a read, so a read only learns of an operator's override sooner. @default cacheMs
   */
  readonly openCacheMs?: number;
  /** How long the probe holds the half-open state before another instance may probe instead. */
  readonly probeLeaseMs: number;
}

/** The breaker item as an instance sees it (see `BREAKER` in lambda/contract.ts). */
export interface BreakerSnapshot {
  readonly state: BreakerStateName;
  readonly forced?: 'open' | 'closed';
  readonly windowStart: number;
  readonly failures: number;
  readonly calls: number;
  readonly previousFailures: number;
  readonly previousCalls: number;
  readonly openUntil: number;
  readonly probeUntil: number;
  readonly probeToken?: string;
  readonly openCount: number;
}

/** A breaker nobody has written yet: closed, with an empty window. */
export const CLOSED_SNAPSHOT: BreakerSnapshot = {
  state: BREAKER_STATE.CLOSED,
  windowStart: 0,
  failures: 0,
  calls: 0,
  previousFailures: 0,
  previousCalls: 0,
  openUntil: 0,
  probeUntil: 0,
  openCount: 0,
};

/** The start of the window `now` falls in. Windows are aligned to the epoch, so every instance agrees on them. */
export function windowStartOf(now: number, windowMs: number): number {
  return Math.floor(now / windowMs) * windowMs;
}

/**
 * Failures and calls in the sliding window that ends at `now`: the current fixed window's counts
 * plus the previous window's, weighted by how much of it the sliding window still covers (the
 * "sliding window counter" approximation: two counters instead of one timestamp per call).
 */
export function slidingCounts(snapshot: BreakerSnapshot, now: number, windowMs: number): { failures: number; calls: number } {
  const current = windowStartOf(now, windowMs);
  if (snapshot.windowStart === current) {
    const overlap = 1 - (now - current) / windowMs;
    return {
      failures: snapshot.failures + snapshot.previousFailures * overlap,
      calls: snapshot.calls + snapshot.previousCalls * overlap,
    };
  }
  if (snapshot.windowStart === current - windowMs) {
    // The item's current window is our previous one.
    const overlap = 1 - (now - current) / windowMs;
    return { failures: snapshot.failures * overlap, calls: snapshot.calls * overlap };
  }
  return { failures: 0, calls: 0 };
}

/** Whether the window's counts open a closed breaker. */
export function shouldTrip(snapshot: BreakerSnapshot, now: number, settings: BreakerSettings): boolean {
  if (snapshot.forced === BREAKER_FORCED.CLOSED) return false;
  const { failures, calls } = slidingCounts(snapshot, now, settings.windowMs);
  if (settings.failureThreshold > 0 && failures >= settings.failureThreshold) return true;
  if (settings.failureRatePercent > 0 && calls >= settings.minCalls && calls > 0) {
    return (failures / calls) * 100 >= settings.failureRatePercent;
  }
  return false;
}

/** What the breaker lets a caller do right now, from a snapshot. */
export type GateDecision =
  /** Call the model. */
  | { readonly kind: 'allow' }
  /** The cooldown is over and no live probe exists: try to become the one probe. */
  | { readonly kind: 'probe-available' }
  /** Do not call; `retryAfterMs` until a probe may be tried (or the manual override is lifted). */
  | { readonly kind: 'deny'; readonly retryAfterMs: number; readonly reason: 'open' | 'probing' | 'forced-open' };

/**
 * The breaker's gate as a pure function of its state:
 *
 * ```
 *  closed ──(failures ≥ N, or rate ≥ R% over ≥ M calls, in the window)──► open
 *  open ──(cooldown over: ONE instance wins the conditional write)──► half-open (probe token)
 *  half-open ──probe succeeds──► closed (window reset)
 *  half-open ──probe fails──► open (new cooldown)
 *  half-open ──probe lease ends without an answer (its instance died)──► another may probe
 *  forced 'open' / 'closed' (pipectl breaker) wins over all of the above
 * ```
 */
export function gate(snapshot: BreakerSnapshot, now: number, settings: BreakerSettings): GateDecision {
  if (snapshot.forced === BREAKER_FORCED.OPEN) return { kind: 'deny', retryAfterMs: settings.cooldownMs, reason: 'forced-open' };
  if (snapshot.forced === BREAKER_FORCED.CLOSED) return { kind: 'allow' };
  switch (snapshot.state) {
    case BREAKER_STATE.CLOSED:
      return { kind: 'allow' };
    case BREAKER_STATE.OPEN:
      return now >= snapshot.openUntil ? { kind: 'probe-available' } : { kind: 'deny', retryAfterMs: snapshot.openUntil - now, reason: 'open' };
    case BREAKER_STATE.HALF_OPEN:
      return now > snapshot.probeUntil
        ? { kind: 'probe-available' }
        : { kind: 'deny', retryAfterMs: Math.max(1, snapshot.probeUntil - now), reason: 'probing' };
  }
}
