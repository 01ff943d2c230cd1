import { setTimeout as sleepFor } from 'node:timers/promises';
import { RateLimitedError } from '../errors/pipeline-errors';
import type { QuotaStore } from './quota-store';

/**
 * Pacing model calls to the provider's quota (issue 14). Two limiters behind one interface:
 *
 * - **QuotaLimiter**, when the stage configures a quota (RPM and/or TPM) for the model: a token
 *   bucket shared by every execution environment, kept as counters per time slot in DynamoDB
 *   (QuotaStore). Each slot may hold `quota / slotsPerWindow` calls; an environment takes a token
 *   with one conditional ADD on the first slot that has room — now, or a later one it then waits
 *   for. So, across every environment, no window of the quota's length ever holds more than the
 *   quota plus one slot, and a slot holds at most one batch (`maxBurst`).
 * - **AdaptiveLimiter**, when none is configured: additive-increase / multiplicative-decrease
 *   learned from 429s, per environment, as the AWS SDK's adaptive retry mode does. It lets
 *   everything through until the first 429; then it cuts its rate to 70% of what it was sending
 *   and grows it back linearly with time. AIMD flows that share one bottleneck converge to equal
 *   shares without talking to each other (Chiu & Jain, 1989), which is what makes per-environment
 *   state enough here.
 *
 * A call that cannot get a token before the caller's deadline is refused with RateLimitedError,
 * whose `retryAfterMs` is when the limiter expects room: the record goes back to the queue for
 * that long (the queue is the buffer), it does not go to a weaker tier.
 *
 * Why not a library: cockatiel has no rate limiter; `limiter`/`bottleneck` keep their buckets in
 * one process (bottleneck's cluster mode needs Redis); rate-limiter-flexible's DynamoDB limiter
 * counts fixed windows but cannot take a token from a *later* window, so a caller could only
 * learn "no" and guess when to ask again, and it needs a table of its own schema. Slots taken in
 * the future are what let a caller wait exactly as long as needed, with one write.
 */
export interface ModelRateLimiter {
  readonly mode: 'quota' | 'adaptive';
  /**
   * Waits for a token for one call. Resolves with how long it waited; throws RateLimitedError
   * when no token comes by `deadline`.
   */
  acquire(options: AcquireOptions): Promise<{ readonly waitedMs: number }>;
  /** A 429 was observed for this model (with the provider's Retry-After, when it sent one). */
  onThrottled(retryAfterMs?: number): void;
}

/** What one call asks of the limiter. */
export interface AcquireOptions {
  /** Epoch ms: a token that would come later than this is refused (the caller's time budget). */
  readonly deadline: number;
  /** Estimated model tokens of the call (prompt + expected answer), for a TPM quota. @default 0 */
  readonly tokens?: number;
  readonly signal?: AbortSignal;
}

/** A model's quota as the stage configures it (either may be absent). */
export interface ModelQuota {
  /** Requests per minute. */
  readonly rpm?: number;
  /** Tokens (input + output) per minute. */
  readonly tpm?: number;
}

/** Clock and sleep, injectable for virtual-clock tests. */
export interface LimiterClock {
  /** @default Date.now */
  readonly now?: () => number;
  /** @default an abortable timer */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

export interface QuotaLimiterOptions extends LimiterClock {
  /** The quota's minute, in ms (local mode scales it). @default 60000 */
  readonly windowMs?: number;
  /** Most calls one slot may hold: the burst the provider can see at once. @default 10 (a batch) */
  readonly maxBurst?: number;
}

/** Slots never shorter than this share of the window (600 slots: 100 ms of a real minute). */
const MAX_SLOTS_PER_WINDOW = 600;
/**
 * One slot item takes at most this many writes before it is split into shards: DynamoDB allows
 * 1,000 writes/s per partition, and a slot's writes come within its length (≥ 100 ms).
 */
const MAX_CALLS_PER_SHARD = 50;
/** Slots one acquisition probes at most (each probe is one conditional write). */
const MAX_PROBES = 8;

/**
 * The shared token bucket of one model (see ModelRateLimiter). Each environment remembers the
 * first slot it has not seen full (its `frontier`), so at the quota it probes forward from there
 * instead of writing to slots it knows are full.
 *
 * ```
 * slots    | s0: 10/10 | s1: 10/10 | s2: 7/10 | s3: 0/10 |      one slot = window / slotsPerWindow
 * now ─────────────┘                  ↑ frontier: take here, sleep until s2 starts (+ jitter in s2)
 * deadline ──────────────────────────────────────┘ a token in a slot after the deadline: refused
 * ```
 *
 * No token leaks when an environment dies: nothing is held, only counted in a slot that ends
 * by itself; a dead environment's tokens are those of slots already past.
 */
export class QuotaLimiter implements ModelRateLimiter {
  readonly mode = 'quota';
  readonly slotMs: number;
  readonly slotsPerWindow: number;
  readonly callsPerSlot?: number;
  readonly tokensPerSlot?: number;
  readonly shards: number;
  private frontier = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  /** Conditional writes made, for tests and the bench. */
  readonly probes = { taken: 0, refused: 0 };

  constructor(
    readonly modelId: string,
    private readonly store: QuotaStore,
    readonly quota: ModelQuota,
    options: QuotaLimiterOptions = {},
  ) {
    if (quota.rpm === undefined && quota.tpm === undefined) throw new RangeError(`the quota of ${modelId} has neither rpm nor tpm`);
    const windowMs = options.windowMs ?? 60_000;
    const maxBurst = Math.max(1, options.maxBurst ?? 10);
    // As many slots as needed to keep one slot's calls within a burst, no more than MAX_SLOTS_PER_WINDOW.
    this.slotsPerWindow = Math.max(1, Math.min(MAX_SLOTS_PER_WINDOW, quota.rpm !== undefined ? Math.ceil(quota.rpm / maxBurst) : 60));
    this.slotMs = windowMs / this.slotsPerWindow;
    // Rounded down: a quota the slots cannot divide is paced slightly under, never over.
    const calls = quota.rpm !== undefined ? Math.max(1, Math.floor(quota.rpm / this.slotsPerWindow)) : undefined;
    this.shards = calls !== undefined ? Math.max(1, Math.ceil(calls / MAX_CALLS_PER_SHARD)) : 1;
    this.callsPerSlot = calls;
    this.tokensPerSlot = quota.tpm !== undefined ? Math.max(1, Math.floor(quota.tpm / this.slotsPerWindow)) : undefined;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }).catch(() => undefined));
    this.random = options.random ?? Math.random;
  }

  async acquire(options: AcquireOptions): Promise<{ readonly waitedMs: number }> {
    const started = this.now();
    const current = Math.floor(started / this.slotMs);
    // A call larger than a whole slot's tokens takes a whole slot (it could never fit otherwise).
    const tokens = this.tokensPerSlot !== undefined ? Math.min(this.tokensPerSlot, Math.max(0, options.tokens ?? 0)) : 0;
    // The current slot is always tried (its token needs no wait), then later ones up to the deadline.
    const last = Math.max(current, Math.floor(options.deadline / this.slotMs));
    let slot = Math.max(current, this.frontier);
    for (let probe = 0; slot <= last && probe < MAX_PROBES; slot += 1) {
      const shard = await this.takeIn(slot, tokens, () => (probe += 1));
      if (shard === undefined) {
        this.frontier = slot + 1;
        continue;
      }
      this.frontier = slot;
      const start = slot * this.slotMs;
      if (start > started) {
        // A later slot: spread the calls over it rather than all at its first millisecond, but
        // stay inside it (the window bound counts on that) and before the deadline.
        const at = Math.min(start + this.random() * this.slotMs * 0.9, Math.max(start, options.deadline));
        await this.sleep(at - started, options.signal);
      }
      return { waitedMs: Math.max(0, this.now() - started) };
    }
    const retryAfterMs = Math.max(this.slotMs, Math.max(slot, this.frontier) * this.slotMs - started);
    throw new RateLimitedError(this.modelId, retryAfterMs, 'quota');
  }

  /** The quota is configured: a 429 means someone else uses the account too; the slots stay as they are. */
  onThrottled(): void {}

  /** Tries the slot's shards from a random one; returns the shard that took the demand. */
  private async takeIn(slot: number, tokens: number, countProbe: () => void): Promise<number | undefined> {
    const first = Math.floor(this.random() * this.shards);
    const limits = {
      ...(this.callsPerSlot !== undefined ? { calls: Math.floor(this.callsPerSlot / this.shards) || 1 } : {}),
      ...(this.tokensPerSlot !== undefined ? { tokens: Math.ceil(this.tokensPerSlot / this.shards) } : {}),
    };
    const expiresAt = (slot + 1) * this.slotMs + 3_600_000;
    for (let i = 0; i < this.shards; i += 1) {
      const shard = (first + i) % this.shards;
      countProbe();
      if (await this.store.take(this.modelId, slot, shard, { calls: 1, tokens }, limits, expiresAt)) {
        this.probes.taken += 1;
        return shard;
      }
      this.probes.refused += 1;
    }
    return undefined;
  }
}

export interface AdaptiveLimiterOptions extends LimiterClock {
  /** The window rates are expressed in (a minute; local mode scales it). @default 60000 */
  readonly windowMs?: number;
  /** Multiplicative decrease on a 429. @default 0.7 (the AWS SDK's adaptive mode) */
  readonly beta?: number;
  /** Additive increase per window, as a share of the rate at the last decrease. @default 0.2 */
  readonly increaseShare?: number;
  /** The rate never drops below this many calls per window. @default 6 */
  readonly minRate?: number;
}

/**
 * AIMD pacing of one model in one execution environment, for when no quota is configured: no
 * limit until the first 429; then a token bucket whose rate (calls per window) is cut to `beta`
 * × the rate measured over the last tenth of a window, and grows back by `increaseShare` × that
 * per window. While a Retry-After runs, no token is given.
 */
export class AdaptiveLimiter implements ModelRateLimiter {
  readonly mode = 'adaptive';
  /** Calls per window; undefined: not limited (no 429 seen yet). */
  private rate?: number;
  private rateAtDecrease = 0;
  private decreasedAt = 0;
  private tokens = 0;
  private tokensAt = 0;
  private pausedUntil = 0;
  private readonly recent: number[] = [];
  private readonly windowMs: number;
  private readonly beta: number;
  private readonly increaseShare: number;
  private readonly minRate: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(
    readonly modelId: string,
    options: AdaptiveLimiterOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 60_000;
    this.beta = options.beta ?? 0.7;
    this.increaseShare = options.increaseShare ?? 0.2;
    this.minRate = options.minRate ?? 6;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }).catch(() => undefined));
  }

  /** The current rate in calls per window (undefined: not limited), for tests and logs. */
  currentRate(now = this.now()): number | undefined {
    if (this.rate === undefined) return undefined;
    return this.rateAtDecrease * this.beta + (this.rateAtDecrease * this.increaseShare * Math.max(0, now - this.decreasedAt)) / this.windowMs;
  }

  async acquire(options: AcquireOptions): Promise<{ readonly waitedMs: number }> {
    const started = this.now();
    const rate = this.currentRate(started);
    if (rate === undefined && started >= this.pausedUntil) {
      this.note(started);
      return { waitedMs: 0 };
    }
    const perMs = (rate ?? this.minRate) / this.windowMs;
    // A bucket of one tenth of a second's worth (at least one call): little burst.
    const capacity = Math.max(1, perMs * 100);
    this.tokens = Math.min(capacity, this.tokens + (started - this.tokensAt) * perMs);
    this.tokensAt = started;
    const readyAt = Math.max(this.pausedUntil, started + (this.tokens >= 1 ? 0 : (1 - this.tokens) / perMs));
    if (readyAt > Math.max(started, options.deadline)) throw new RateLimitedError(this.modelId, readyAt - started, 'adaptive');
    this.tokens -= 1; // may go below 0 while paused: the token is this call's, taken ahead of time
    if (readyAt > started) await this.sleep(readyAt - started, options.signal);
    this.note(this.now());
    return { waitedMs: Math.max(0, this.now() - started) };
  }

  onThrottled(retryAfterMs?: number): void {
    const now = this.now();
    if (retryAfterMs !== undefined && retryAfterMs > 0) this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
    // The 429s of calls already in flight answer the rate before this decrease: one decrease per
    // tenth of a window, or the rate would collapse on one burst.
    if (this.rate !== undefined && now - this.decreasedAt < this.windowMs / 10) return;
    const measured = this.measuredRate(now);
    const current = this.currentRate(now) ?? measured;
    this.rateAtDecrease = Math.max(this.minRate / this.beta, Math.min(current, Math.max(measured, this.minRate)));
    this.rate = this.rateAtDecrease * this.beta;
    this.decreasedAt = now;
    this.tokens = Math.min(this.tokens, 0);
    this.tokensAt = now;
  }

  /** Calls per window, measured over the last tenth of a window. */
  private measuredRate(now: number): number {
    const since = now - this.windowMs / 10;
    while (this.recent.length > 0 && (this.recent[0] as number) < since) this.recent.shift();
    return this.recent.length * 10;
  }

  private note(at: number): void {
    this.recent.push(at);
    if (this.recent.length > 10_000) this.recent.shift();
  }
}

/** Which limiter each model gets (see `rateLimiterFor`). */
export interface RateLimiterSettings {
  /** `on`: configured quotas only; `adaptive`: AIMD for models without one too; `off`: no pacing at all. */
  readonly pacing: 'on' | 'adaptive' | 'off';
  readonly quotas: Readonly<Record<string, ModelQuota>>;
  readonly windowMs: number;
  /** The burst one quota slot may hold: the event source's batch size. */
  readonly maxBurst: number;
}

/**
 * One limiter per model for the life of an execution environment: a QuotaLimiter on the shared
 * store when the stage configures a quota for it; otherwise an AdaptiveLimiter under `adaptive`
 * and none under `on`; none at all under `off`.
 *
 * AIMD is opt-in (`adaptive`) because its increase is time-based: 429s that do not come from a
 * rate (a proxy's sporadic ones, or the simulator's `429=RATE` draws) keep cutting the rate, and
 * it sinks towards its floor. Against a real quota it converges (test/unit/rate-limiter.test.ts).
 */
export function rateLimiters(settings: RateLimiterSettings, store: QuotaStore, clock: LimiterClock = {}): (modelId: string) => ModelRateLimiter | undefined {
  const limiters = new Map<string, ModelRateLimiter>();
  return (modelId) => {
    if (settings.pacing === 'off') return undefined;
    let limiter = limiters.get(modelId);
    if (!limiter) {
      const quota = settings.quotas[modelId];
      if (quota && (quota.rpm !== undefined || quota.tpm !== undefined)) {
        limiter = new QuotaLimiter(modelId, store, quota, { ...clock, windowMs: settings.windowMs, maxBurst: settings.maxBurst });
      } else if (settings.pacing === 'adaptive') {
        limiter = new AdaptiveLimiter(modelId, { ...clock, windowMs: settings.windowMs });
      } else {
        return undefined;
      }
      limiters.set(modelId, limiter);
    }
    return limiter;
  };
}
