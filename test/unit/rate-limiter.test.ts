/**
 * The rate limiters on a virtual clock (no timers, no network): the quota limiter's window bound
 * as a property, fairness across environments, no token leak when an environment dies, and AIMD
 * learning a quota it was not told from the 429s of a simulated provider bucket.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../lambda/errors/pipeline-errors';
import { InMemoryQuotaStore } from '../../lambda/resilience/quota-store';
import { AdaptiveLimiter, QuotaLimiter, rateLimiters } from '../../lambda/resilience/rate-limiter';
import { QuotaBucket } from '../../local/model-simulator/quota-bucket';

/** A discrete-event clock: `sleep` resolves when `run` advances virtual time past it. */
class VirtualClock {
  time = 0;
  private timers: Array<{ at: number; resolve: () => void }> = [];
  readonly now = () => this.time;
  readonly sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      this.timers.push({ at: this.time + Math.max(0, ms), resolve });
    });

  /** Lets every pending promise settle, then fires timers in time order until `until`. */
  async run(until: number): Promise<void> {
    for (;;) {
      await flush();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.resolve();
    }
    this.time = Math.max(this.time, until);
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await Promise.resolve();
}

/** Deterministic "random" numbers for the limiter's jitter and shard choice. */
function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The most calls any window [t, t + windowMs) holds, over windows starting at each call. */
function maxInAnyWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start += 1) {
    while (end < sorted.length && (sorted[end] as number) < (sorted[start] as number) + windowMs) end += 1;
    best = Math.max(best, end - start);
  }
  return best;
}

/**
 * `environments` limiters of one model on one store, each running `workers` loops that acquire
 * and "call" back to back until `until`; returns the call times per environment.
 */
async function saturate(options: {
  clock: VirtualClock;
  store: InMemoryQuotaStore;
  environments: number;
  workers: number;
  rpm: number;
  windowMs: number;
  maxBurst: number;
  until: number;
  /** An environment stops (dies) at this time: its loops end, whatever they hold. */
  diesAt?: ReadonlyMap<number, number>;
  /** Virtual ms one model call takes. @default 5 */
  callMs?: number;
}): Promise<number[][]> {
  const { clock, store } = options;
  const calls: number[][] = Array.from({ length: options.environments }, () => []);
  const loops: Promise<void>[] = [];
  for (let env = 0; env < options.environments; env += 1) {
    const limiter = new QuotaLimiter(
      'm',
      store,
      { rpm: options.rpm },
      { windowMs: options.windowMs, maxBurst: options.maxBurst, now: clock.now, sleep: clock.sleep, random: seeded(env + 1) },
    );
    const diesAt = options.diesAt?.get(env) ?? Number.POSITIVE_INFINITY;
    for (let worker = 0; worker < options.workers; worker += 1) {
      loops.push(
        (async () => {
          while (clock.now() < options.until && clock.now() < diesAt) {
            try {
              await limiter.acquire({ deadline: clock.now() + options.windowMs / 10 });
              if (clock.now() >= diesAt) return; // died while waiting: the token is never used
              calls[env]?.push(clock.now());
              await clock.sleep(options.callMs ?? 5);
            } catch (error) {
              if (!(error instanceof RateLimitedError)) throw error;
              await clock.sleep(error.retryAfterMs); // back to the queue for as long as asked
            }
          }
        })(),
      );
    }
  }
  await clock.run(options.until + options.windowMs);
  await Promise.all(loops);
  return calls;
}

describe('QuotaLimiter', () => {
  it('keeps one slot within a burst and divides the quota into slots', () => {
    const limiter = new QuotaLimiter('m', new InMemoryQuotaStore(), { rpm: 600 }, { windowMs: 60_000, maxBurst: 10 });
    expect(limiter.slotsPerWindow).toBe(60);
    expect(limiter.slotMs).toBe(1000);
    expect(limiter.callsPerSlot).toBe(10);
  });

  it('property: no window of the quota length holds more than the quota plus one batch, across environments', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 5, max: 1200 }),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 40 }),
        async (rpm, maxBurst, environments, workers, callMs) => {
          const clock = new VirtualClock();
          const windowMs = 60_000;
          const calls = await saturate({ clock, store: new InMemoryQuotaStore(), environments, workers, rpm, windowMs, maxBurst, until: 3 * windowMs, callMs });
          const all = calls.flat();
          expect(all.length).toBeGreaterThan(0);
          expect(maxInAnyWindow(all, windowMs)).toBeLessThanOrEqual(rpm + maxBurst);
        },
      ),
      { numRuns: 40, seed: 14 },
    );
  });

  it('uses the quota: saturating environments get at least 95% of it', async () => {
    const clock = new VirtualClock();
    const calls = await saturate({
      clock,
      store: new InMemoryQuotaStore(),
      environments: 3,
      workers: 5,
      rpm: 600,
      windowMs: 60_000,
      maxBurst: 10,
      until: 5 * 60_000,
    });
    const total = calls.flat().filter((t) => t < 5 * 60_000).length;
    expect(total).toBeGreaterThanOrEqual(0.95 * 5 * 600);
    expect(total).toBeLessThanOrEqual(5 * 600 + 10);
  });

  it('is fair across environments with equal demand', async () => {
    const clock = new VirtualClock();
    const calls = await saturate({
      clock,
      store: new InMemoryQuotaStore(),
      environments: 4,
      workers: 5,
      rpm: 600,
      windowMs: 60_000,
      maxBurst: 10,
      until: 5 * 60_000,
    });
    const counts = calls.map((times) => times.length);
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    for (const count of counts) expect(Math.abs(count - mean) / mean).toBeLessThan(0.15);
  });

  it('does not let a greedy environment starve a modest one', async () => {
    const clock = new VirtualClock();
    const store = new InMemoryQuotaStore();
    const windowMs = 60_000;
    // The greedy environment: 4 environments' worth of workers, back to back.
    const greedy = saturate({ clock, store, environments: 1, workers: 20, rpm: 600, windowMs, maxBurst: 10, until: 3 * windowMs });
    // The modest one asks for one call every 2 s (5% of the quota), with a 6 s budget each.
    const modest = new QuotaLimiter('m', store, { rpm: 600 }, { windowMs, maxBurst: 10, now: clock.now, sleep: clock.sleep, random: seeded(99) });
    const outcomes: Array<'served' | 'deferred'> = [];
    const asks = (async () => {
      for (let i = 0; i < 80; i += 1) {
        await clock.sleep(2000);
        outcomes.push(
          await modest.acquire({ deadline: clock.now() + 6000 }).then(
            () => 'served' as const,
            () => 'deferred' as const,
          ),
        );
      }
    })();
    await greedy;
    // The asks take up to 8 s each (2 s apart, up to 6 s of waiting): run the clock until they are done.
    await clock.run(20 * windowMs);
    await asks;
    expect(outcomes).toHaveLength(80);
    expect(outcomes.filter((outcome) => outcome === 'served').length).toBeGreaterThanOrEqual(76);
  });

  it('leaks no token when an environment dies: the survivors get the whole quota from the next window on', async () => {
    const clock = new VirtualClock();
    const windowMs = 60_000;
    // Environment 0 dies 30 s in, holding whatever it took ahead of time (future slots included).
    const calls = await saturate({
      clock,
      store: new InMemoryQuotaStore(),
      environments: 3,
      workers: 5,
      rpm: 600,
      windowMs,
      maxBurst: 10,
      until: 4 * windowMs,
      diesAt: new Map([[0, 30_000]]),
    });
    expect(calls[0]?.every((t) => t < 30_000)).toBe(true);
    const survivors = [...(calls[1] ?? []), ...(calls[2] ?? [])];
    for (const minute of [2, 3]) {
      const inMinute = survivors.filter((t) => t >= minute * windowMs && t < (minute + 1) * windowMs).length;
      expect(inMinute).toBeGreaterThanOrEqual(590);
    }
  });

  it('refuses with the time until the frontier when no slot before the deadline has room', async () => {
    const clock = new VirtualClock();
    const limiter = new QuotaLimiter(
      'm',
      new InMemoryQuotaStore(),
      { rpm: 60 },
      { windowMs: 60_000, maxBurst: 1, now: clock.now, sleep: clock.sleep, random: () => 0 },
    );
    // One call per second: the current slot's token now, then nothing within a 500 ms budget.
    await limiter.acquire({ deadline: 500 });
    const refused = await limiter.acquire({ deadline: 500 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterMs).toBe(1000);
  });

  it('paces a tokens-per-minute quota by the estimated tokens of each call', async () => {
    const clock = new VirtualClock();
    const store = new InMemoryQuotaStore();
    const limiter = new QuotaLimiter('m', store, { tpm: 6000 }, { windowMs: 60_000, now: clock.now, sleep: clock.sleep, random: () => 0 });
    // 60 slots of 100 tokens: one 60-token call per slot.
    await limiter.acquire({ deadline: 0, tokens: 60 });
    await expect(limiter.acquire({ deadline: 0, tokens: 60 })).rejects.toBeInstanceOf(RateLimitedError);
    expect(store.used('m', 0)).toEqual({ calls: 1, tokens: 60 });
  });
});

describe('AdaptiveLimiter (AIMD, no quota configured)', () => {
  it('lets everything through until the first 429', async () => {
    const limiter = new AdaptiveLimiter('m', { now: () => 0 });
    for (let i = 0; i < 100; i += 1) expect(await limiter.acquire({ deadline: 0 })).toEqual({ waitedMs: 0 });
    expect(limiter.currentRate()).toBeUndefined();
  });

  it('learns a quota from 429s: few refusals and a fair share per environment once settled', async () => {
    const clock = new VirtualClock();
    const windowMs = 60_000;
    const provider = new QuotaBucket(600, windowMs, 0);
    const environments = Array.from({ length: 3 }, (_, n) => new AdaptiveLimiter(`m${n}`, { windowMs, now: clock.now, sleep: clock.sleep }));
    const accepted = environments.map(() => [] as number[]);
    const refused = environments.map(() => [] as number[]);
    const until = 10 * windowMs;
    const loops = environments.flatMap((limiter, env) =>
      Array.from({ length: 4 }, () =>
        (async () => {
          while (clock.now() < until) {
            try {
              await limiter.acquire({ deadline: clock.now() + 2000 });
            } catch (error) {
              await clock.sleep((error as RateLimitedError).retryAfterMs);
              continue;
            }
            const answer = provider.take(1, clock.now());
            if (answer.ok) accepted[env]?.push(clock.now());
            else {
              refused[env]?.push(clock.now());
              limiter.onThrottled(answer.retryAfterMs);
            }
            await clock.sleep(20);
          }
        })(),
      ),
    );
    await clock.run(until + windowMs);
    await Promise.all(loops);
    // Settled: the last five minutes.
    const late = (times: readonly number[]) => times.filter((t) => t >= 5 * windowMs && t < until).length;
    const acceptedLate = accepted.map(late);
    const refusedLate = refused.map(late).reduce((a, b) => a + b, 0);
    const totalLate = acceptedLate.reduce((a, b) => a + b, 0);
    // Uses most of the quota it was never told (5 minutes × 600), with few 429s.
    expect(totalLate).toBeGreaterThanOrEqual(0.7 * 5 * 600);
    expect(totalLate).toBeLessThanOrEqual(5 * 600 + 600);
    expect(refusedLate / (totalLate + refusedLate)).toBeLessThan(0.1);
    const mean = totalLate / acceptedLate.length;
    for (const count of acceptedLate) expect(Math.abs(count - mean) / mean).toBeLessThan(0.35);
  });

  it('gives no token while a Retry-After runs, then paces at the learned rate', async () => {
    let now = 0;
    const limiter = new AdaptiveLimiter('m', { now: () => now, sleep: async (ms) => void (now += ms) });
    await limiter.acquire({ deadline: 0 });
    limiter.onThrottled(5000);
    const refused = await limiter.acquire({ deadline: 1000 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(5000);
    now = 5000;
    const first = await limiter.acquire({ deadline: 60_000 });
    const second = await limiter.acquire({ deadline: 60_000 });
    // One call seen in the last tenth of a minute (10/min measured) → 7/min: one token per ~8.6 s.
    expect(first.waitedMs + second.waitedMs).toBeGreaterThan(8000);
    expect(limiter.currentRate()).toBeGreaterThanOrEqual(7);
  });
});

describe('rateLimiters', () => {
  it('a quota limiter where one is configured; AIMD elsewhere only when adaptive; none when pacing is off', () => {
    const store = new InMemoryQuotaStore();
    const on = rateLimiters({ pacing: 'on', quotas: { a: { rpm: 600 } }, windowMs: 60_000, maxBurst: 10 }, store);
    expect(on('a')?.mode).toBe('quota');
    expect(on('b')).toBeUndefined();
    expect(on('a')).toBe(on('a'));
    const adaptive = rateLimiters({ pacing: 'adaptive', quotas: { a: { rpm: 600 } }, windowMs: 60_000, maxBurst: 10 }, store);
    expect(adaptive('a')?.mode).toBe('quota');
    expect(adaptive('b')?.mode).toBe('adaptive');
    const off = rateLimiters({ pacing: 'off', quotas: { a: { rpm: 600 } }, windowMs: 60_000, maxBurst: 10 }, store);
    expect(off('a')).toBeUndefined();
  });
});
