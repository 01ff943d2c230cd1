import { randomUUID } from 'node:crypto';
import { BREAKER_STATE } from '../contract';
import { isRateLimited, ModelCallError } from '../errors/pipeline-errors';
import { type BreakerSettings, type BreakerSnapshot, CLOSED_SNAPSHOT, gate, shouldTrip, slidingCounts, windowStartOf } from './breaker-state';
import type { DynamoDbBreakerStore } from './dynamodb-breaker-store';

/** What the breaker lets one caller do. */
export type BreakerPermit =
  | { readonly kind: 'call' }
  /** This caller is the one probe across all instances: its outcome closes or reopens the breaker. */
  | { readonly kind: 'probe'; readonly token: string }
  | { readonly kind: 'denied'; readonly retryAfterMs: number; readonly reason: 'open' | 'probing' | 'forced-open' };

/** How a call went, for the breaker: a systemic failure counts against it, anything else does not. */
export type BreakerOutcome = 'success' | 'failure' | 'neutral';

/**
 * What a failed model call means for the breaker. This is where the line between "rate limited"
 * and "outage" is drawn:
 *
 *   rate limited — 429 / ThrottlingException, with or without Retry-After   → neutral
 *   outage       — 5xx, 529, timeouts (ours or the provider's), resets,
 *                  model not ready, unparsable answers                        → failure
 *   this request — 400, content filtered, conflict                           → neutral
 *
 * Why there: a breaker exists to stop calling a provider that cannot answer, so a fallback tier
 * serves instead. A 429 is an answer — quick, well-formed, with a time to come back — from a
 * provider that is up and serving everyone under their quota. Tripping on it turns a burst into
 * degraded answers from weaker tiers; the right response is to slow down (the rate limiter) and
 * let the queue hold the excess. A 429 without Retry-After counts the same: Bedrock's
 * ThrottlingException never carries one, and is still a quota. What stays a failure is everything
 * that says the provider could not answer at all. A provider that only ever answers 429 does not
 * open the breaker; its records wait on the queue and fall to the next tier on their last receive.
 */
export function breakerOutcomeOf(error: unknown): BreakerOutcome {
  if (isRateLimited(error)) return 'neutral';
  return error instanceof ModelCallError && error.systemic ? 'failure' : 'neutral';
}

export interface SharedBreakerEvents {
  /** This instance's write opened the breaker (closed → open). */
  readonly onOpened?: (modelId: string, openUntil: number) => void;
  /** A probe's outcome closed or reopened it. */
  readonly onProbeSettled?: (modelId: string, closed: boolean) => void;
}

/**
 * One model's circuit breaker as one execution environment sees it, with its state shared by all
 * of them in the control table (DynamoDbBreakerStore):
 *
 * - The state is read at most once per `cacheMs`, and at most once per invocation: the processor
 *   calls `refresh` once per batch for each model it is about to call; `acquire` never reads.
 * - Calls and failures are counted in memory and written once per batch (`flush`), and only when
 *   something failed — in this batch, or in the window as last read. The happy path writes nothing.
 *   (So the failure rate's denominator misses the calls that succeeded before the window's first
 *   failure: the rate errs towards opening, which is the safe side.)
 * - A burst of failures in one instance flushes at once, without waiting for the batch to end.
 * - Opening and taking the half-open probe are conditional writes: one instance wins each.
 *
 * cockatiel's CircuitBreakerPolicy keeps its state in one process (its `toJSON()` and
 * `initialState` carry the state to a later process, they do not share it between concurrent
 * ones); this breaker must be one for every concurrent Lambda instance, with exactly one probe
 * among them, which needs the conditional writes above.
 */
export class SharedBreaker {
  private snapshot: BreakerSnapshot = CLOSED_SNAPSHOT;
  private readAt = Number.NEGATIVE_INFINITY;
  private pendingCalls = 0;
  private pendingFailures = 0;
  private lastErrorClass?: string;
  private probeAttempt?: Promise<BreakerPermit>;
  private writes: Promise<unknown> = Promise.resolve();
  /** DynamoDB requests this instance made, for tests and the bench. */
  readonly requests = { reads: 0, writes: 0 };

  constructor(
    readonly modelId: string,
    private readonly store: DynamoDbBreakerStore,
    private readonly settings: BreakerSettings,
    private readonly events: SharedBreakerEvents = {},
    private readonly now: () => number = Date.now,
  ) {}

  /** The state as last read or written. */
  get state(): BreakerSnapshot {
    return this.snapshot;
  }

  /** Whether the state as last seen lets calls through without a probe (no I/O). */
  allowsCalls(): boolean {
    return gate(this.snapshot, this.now(), this.settings).kind === 'allow';
  }

  /**
   * The refusal `acquire` would give now, by the state as last seen, with no I/O; undefined when
   * a call or a probe would be let through. The processor asks before it claims a record, so that
   * a record no model could serve costs no ledger writes (RecordProtocol.processRecord).
   */
  refusal(): { readonly retryAfterMs: number; readonly reason: 'open' | 'probing' | 'forced-open' } | undefined {
    const decision = gate(this.snapshot, this.now(), this.settings);
    return decision.kind === 'deny' ? { retryAfterMs: decision.retryAfterMs, reason: decision.reason } : undefined;
  }

  /**
   * Reads the shared state unless the cached one is younger than `cacheMs` — or `quietCacheMs`
   * while the breaker is quiet (issue 17: on the happy path the per-batch read was most of the
   * DynamoDB reads). The staleness that buys: an instance whose own calls succeed learns that
   * another opened the breaker (or an operator forced it) up to `quietCacheMs` late; an instance
   * whose calls fail learns at once, from its own failures' write.
   */
  async refresh(): Promise<void> {
    const now = this.now();
    if (now - this.readAt < this.cacheFor(now)) return;
    this.readAt = now;
    this.requests.reads += 1;
    this.snapshot = await this.store.read(this.modelId);
  }

  /**
   * May the caller call the model now, by the state as last read (call `refresh` once per
   * invocation first)? Never reads; at most one conditional write (taking the probe).
   */
  async acquire(): Promise<BreakerPermit> {
    const decision = gate(this.snapshot, this.now(), this.settings);
    if (decision.kind === 'allow') return { kind: 'call' };
    if (decision.kind === 'deny') return { kind: 'denied', retryAfterMs: decision.retryAfterMs, reason: decision.reason };
    // One attempt per instance at a time; while it runs, the other records of this instance wait
    // as if another instance were probing (one probe, one permit).
    if (this.probeAttempt) return { kind: 'denied', retryAfterMs: this.settings.probeLeaseMs, reason: 'probing' };
    this.probeAttempt = this.takeProbe();
    try {
      return await this.probeAttempt;
    } finally {
      this.probeAttempt = undefined;
    }
  }

  /**
   * How long the state as last read is trusted: `quietCacheMs` while quiet, `openCacheMs` while open
   * in its cooldown (issue 17's scale model: at 50k messages/s, every environment reading an open
   * breaker every 2 s would take 97% of its partition's reads), `cacheMs` otherwise.
   */
  private cacheFor(now: number): number {
    const { cacheMs, quietCacheMs, openCacheMs } = this.settings;
    if (this.quiet(now)) return quietCacheMs ?? cacheMs;
    const { snapshot } = this;
    if (snapshot.state === BREAKER_STATE.OPEN && snapshot.forced === undefined && now < snapshot.openUntil) return openCacheMs ?? cacheMs;
    return cacheMs;
  }

  /** Closed, not forced, and no failure in the window as last read nor in this instance since. */
  private quiet(now: number): boolean {
    const { snapshot } = this;
    return (
      snapshot.state === BREAKER_STATE.CLOSED &&
      snapshot.forced === undefined &&
      this.pendingFailures === 0 &&
      slidingCounts(snapshot, now, this.settings.windowMs).failures === 0
    );
  }

  /** Records how a permitted call went. A probe's outcome is written at once; other calls are batched. */
  async settle(permit: BreakerPermit, outcome: BreakerOutcome, errorClass?: string): Promise<void> {
    if (permit.kind === 'denied') return;
    if (permit.kind === 'probe') {
      await this.settleProbe(permit.token, outcome, errorClass);
      return;
    }
    this.pendingCalls += 1;
    if (outcome === 'failure') {
      this.pendingFailures += 1;
      this.lastErrorClass = errorClass;
      // A burst in this instance alone is enough to trip it: do not wait for the batch to end.
      if (this.settings.failureThreshold > 0 && this.pendingFailures >= this.settings.failureThreshold) await this.flush();
    }
  }

  /**
   * A permit that was never used (the call did not start: too little time left). A probe's lease is
   * released so another instance may probe now; a plain call permit counts nothing.
   */
  async release(permit: BreakerPermit): Promise<void> {
    if (permit.kind !== 'probe') return;
    this.requests.writes += 1;
    const written = await this.store.releaseProbe(this.modelId, permit.token, this.now());
    this.readAt = Number.NEGATIVE_INFINITY;
    if (written) this.snapshot = written;
  }

  /** Writes the counts gathered since the last flush when something failed, and opens the breaker if they trip it. */
  flush(): Promise<void> {
    const run = this.writes.then(() => this.writeCounts());
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async writeCounts(): Promise<void> {
    const calls = this.pendingCalls;
    const failures = this.pendingFailures;
    if (calls === 0) return;
    const now = this.now();
    const windowHasFailures = slidingCounts(this.snapshot, now, this.settings.windowMs).failures > 0;
    this.pendingCalls = 0;
    this.pendingFailures = 0;
    if (failures === 0 && !windowHasFailures) return; // the happy path: nothing to write
    this.requests.writes += 1;
    const written = await this.store.record(
      this.modelId,
      { calls, failures, lastErrorClass: failures > 0 ? this.lastErrorClass : undefined },
      windowStartOf(now, this.settings.windowMs),
      this.settings.windowMs,
      now,
    );
    this.snapshot = written;
    this.readAt = now;
    if (written.state === BREAKER_STATE.CLOSED && shouldTrip(written, now, this.settings)) {
      const openUntil = now + this.settings.cooldownMs;
      this.requests.writes += 1;
      if (await this.store.open(this.modelId, now, openUntil, this.lastErrorClass)) {
        this.snapshot = { ...written, state: BREAKER_STATE.OPEN, openUntil, openCount: written.openCount + 1 };
        this.events.onOpened?.(this.modelId, openUntil);
      } else {
        // Someone else opened it (or forced it closed): learn which on the next read.
        this.readAt = Number.NEGATIVE_INFINITY;
      }
    }
  }

  private async takeProbe(): Promise<BreakerPermit> {
    const now = this.now();
    const token = randomUUID();
    this.requests.writes += 1;
    const written = await this.store.takeProbe(this.modelId, token, now, now + this.settings.probeLeaseMs);
    this.readAt = now;
    if (written) {
      this.snapshot = written;
      return { kind: 'probe', token };
    }
    // Another instance probes: treat the breaker as probing for one lease, then look again.
    this.snapshot = { ...this.snapshot, state: BREAKER_STATE.HALF_OPEN, probeUntil: now + this.settings.probeLeaseMs };
    return { kind: 'denied', retryAfterMs: this.settings.probeLeaseMs, reason: 'probing' };
  }

  private async settleProbe(token: string, outcome: BreakerOutcome, errorClass?: string): Promise<void> {
    const now = this.now();
    this.requests.writes += 1;
    // The model answered (even if the answer was unusable): it is up again.
    const closed = outcome !== 'failure';
    const written = closed
      ? await this.store.closeAfterProbe(this.modelId, token, now, windowStartOf(now, this.settings.windowMs))
      : await this.store.reopenAfterProbe(this.modelId, token, now, now + this.settings.cooldownMs, errorClass ?? 'Unknown');
    this.readAt = now;
    if (written) {
      this.snapshot = written;
      this.events.onProbeSettled?.(this.modelId, closed);
    } else {
      // The lease ran out and someone else probes now (or an operator forced the state): read again next time.
      this.readAt = Number.NEGATIVE_INFINITY;
    }
  }
}
