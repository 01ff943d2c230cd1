import { describe, expect, it } from 'vitest';
import type { BreakerCounts, DynamoDbBreakerStore } from '../../lambda/resilience/dynamodb-breaker-store';
import { type BreakerSettings, type BreakerSnapshot, CLOSED_SNAPSHOT } from '../../lambda/resilience/breaker-state';
import { BreakerOpenError, ModelCallError, RateLimitedError } from '../../lambda/errors/pipeline-errors';
import { type BreakerPermit, breakerOutcomeOf, SharedBreaker } from '../../lambda/resilience/shared-breaker';

/**
 * The breaker item in memory, with the conditions of DynamoDbBreakerStore (each method's
 * ConditionExpression, checked against dynalite in test/integration/model-guards.test.ts), so
 * SharedBreaker's decisions can be tested on a virtual clock without an emulator.
 */
class InMemoryBreakerStore {
  item: BreakerSnapshot = CLOSED_SNAPSHOT;
  readonly calls: string[] = [];
  readonly recorded: BreakerCounts[] = [];
  /** Set to make the next conditional write lose to another instance. */
  loseNext?: 'open' | 'takeProbe' | 'settleProbe' | 'releaseProbe';

  async read(): Promise<BreakerSnapshot> {
    this.calls.push('read');
    return this.item;
  }

  async record(_modelId: string, counts: BreakerCounts, windowStart: number, windowMs: number): Promise<BreakerSnapshot> {
    this.calls.push('record');
    this.recorded.push(counts);
    const item = this.item;
    if (item.windowStart === windowStart) {
      this.item = { ...item, failures: item.failures + counts.failures, calls: item.calls + counts.calls };
    } else if (item.windowStart === windowStart - windowMs) {
      this.item = { ...item, previousFailures: item.failures, previousCalls: item.calls, failures: counts.failures, calls: counts.calls, windowStart };
    } else {
      this.item = { ...item, previousFailures: 0, previousCalls: 0, failures: counts.failures, calls: counts.calls, windowStart };
    }
    return this.item;
  }

  async open(_modelId: string, _now: number, openUntil: number): Promise<boolean> {
    this.calls.push('open');
    if (this.lose('open') || this.item.state !== 'closed' || this.item.forced === 'closed') return false;
    this.item = { ...this.item, state: 'open', openUntil, openCount: this.item.openCount + 1 };
    return true;
  }

  async takeProbe(_modelId: string, token: string, now: number, probeUntil: number): Promise<BreakerSnapshot | undefined> {
    this.calls.push('takeProbe');
    const { state, openUntil, forced } = this.item;
    const free = (state === 'open' && openUntil <= now) || (state === 'half-open' && this.item.probeUntil < now);
    if (this.lose('takeProbe') || forced === 'open' || !free) return undefined;
    this.item = { ...this.item, state: 'half-open', probeToken: token, probeUntil };
    return this.item;
  }

  async closeAfterProbe(_modelId: string, token: string, _now: number, windowStart: number): Promise<BreakerSnapshot | undefined> {
    this.calls.push('closeAfterProbe');
    if (this.lose('settleProbe') || this.item.state !== 'half-open' || this.item.probeToken !== token) return undefined;
    this.item = { ...CLOSED_SNAPSHOT, windowStart, openCount: this.item.openCount };
    return this.item;
  }

  async reopenAfterProbe(_modelId: string, token: string, _now: number, openUntil: number, lastErrorClass: string): Promise<BreakerSnapshot | undefined> {
    this.calls.push(`reopenAfterProbe:${lastErrorClass}`);
    if (this.lose('settleProbe') || this.item.state !== 'half-open' || this.item.probeToken !== token) return undefined;
    this.item = { ...this.item, state: 'open', openUntil, probeToken: undefined };
    return this.item;
  }

  async releaseProbe(_modelId: string, token: string, now: number): Promise<BreakerSnapshot | undefined> {
    this.calls.push('releaseProbe');
    if (this.lose('releaseProbe') || this.item.state !== 'half-open' || this.item.probeToken !== token) return undefined;
    this.item = { ...this.item, probeUntil: now - 1, probeToken: undefined };
    return this.item;
  }

  private lose(what: NonNullable<InMemoryBreakerStore['loseNext']>): boolean {
    if (this.loseNext !== what) return false;
    this.loseNext = undefined;
    return true;
  }
}

const SETTINGS: BreakerSettings = {
  failureThreshold: 3,
  failureRatePercent: 0,
  minCalls: 1,
  windowMs: 60_000,
  cooldownMs: 30_000,
  cacheMs: 2000,
  probeLeaseMs: 13_000,
};
const T = 1_800_000_000_000; // a window boundary

function setup(options: { settings?: Partial<BreakerSettings>; item?: Partial<BreakerSnapshot> } = {}) {
  let now = T;
  const store = new InMemoryBreakerStore();
  store.item = { ...CLOSED_SNAPSHOT, windowStart: T, ...options.item };
  const opened: number[] = [];
  const settled: boolean[] = [];
  const breaker = new SharedBreaker(
    'model-a',
    store as unknown as DynamoDbBreakerStore,
    { ...SETTINGS, ...options.settings },
    { onOpened: (_id, openUntil) => opened.push(openUntil), onProbeSettled: (_id, closed) => settled.push(closed) },
    () => now,
  );
  return {
    store,
    breaker,
    opened,
    settled,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

const CALL: BreakerPermit = { kind: 'call' };

describe('SharedBreaker: counting calls', () => {
  it('writes nothing on the happy path', async () => {
    // Prepare
    const { breaker, store } = setup();
    await breaker.refresh();

    // Act
    for (let i = 0; i < 5; i += 1) await breaker.settle(CALL, 'success');
    await breaker.flush();

    // Assess
    expect(store.calls).toEqual(['read']);
    expect(breaker.requests).toEqual({ reads: 1, writes: 0 });
  });

  it('writes the batch counts at flush when a call failed, without opening below the threshold', async () => {
    // Prepare
    const { breaker, store } = setup();
    await breaker.settle(CALL, 'success');
    await breaker.settle(CALL, 'failure', 'Throttled');
    await breaker.settle(CALL, 'neutral');

    // Act
    const beforeFlush = [...store.calls];
    await breaker.flush();

    // Assess: the batch waited for flush; two failures of three allowed do not open it
    expect(beforeFlush).toEqual([]);
    expect(store.recorded).toEqual([{ calls: 3, failures: 1, lastErrorClass: 'Throttled' }]);
    expect(store.item.state).toBe('closed');
    expect(breaker.allowsCalls()).toBe(true);
  });

  it('writes successes too while the window it last saw holds failures (the rate needs them)', async () => {
    // Prepare
    const { breaker, store } = setup({ item: { failures: 1, calls: 1 } });
    await breaker.refresh();

    // Act
    await breaker.settle(CALL, 'success');
    await breaker.flush();

    // Assess
    expect(store.recorded).toEqual([{ calls: 1, failures: 0, lastErrorClass: undefined }]);
  });

  it('does not write the same counts twice', async () => {
    // Prepare
    const { breaker, store } = setup();
    await breaker.settle(CALL, 'failure', 'ServerError');
    await breaker.flush();

    // Act
    await breaker.flush();

    // Assess
    expect(store.recorded).toHaveLength(1);
    expect(store.item).toMatchObject({ failures: 1, calls: 1 });
  });

  it('opens at once on a burst of failures in this instance, without waiting for flush', async () => {
    // Prepare
    const { breaker, store, opened, now } = setup();

    // Act
    await breaker.settle(CALL, 'failure', 'ServerError');
    await breaker.settle(CALL, 'failure', 'ServerError');
    const afterTwo = store.item.state;
    await breaker.settle(CALL, 'failure', 'ServerError');

    // Assess
    expect(afterTwo).toBe('closed');
    expect(store.item).toMatchObject({ state: 'open', openUntil: now() + SETTINGS.cooldownMs, openCount: 1 });
    expect(opened).toEqual([now() + SETTINGS.cooldownMs]);
    expect(breaker.state).toMatchObject({ state: 'open', openCount: 1 });
    expect(breaker.allowsCalls()).toBe(false);
    expect(await breaker.acquire()).toEqual({ kind: 'denied', retryAfterMs: SETTINGS.cooldownMs, reason: 'open' });
  });

  it('does not open early when the failure threshold rule is off', async () => {
    // Prepare: only the rate rule, 50% over at least 4 calls
    const { breaker, store } = setup({ settings: { failureThreshold: 0, failureRatePercent: 50, minCalls: 4 } });

    // Act
    for (let i = 0; i < 3; i += 1) await breaker.settle(CALL, 'failure', 'ServerError');
    const beforeFlush = store.item.state;
    await breaker.settle(CALL, 'success');
    await breaker.flush();

    // Assess
    expect(beforeFlush).toBe('closed');
    expect(store.calls).toEqual(['record', 'open']);
    expect(store.item.state).toBe('open');
  });

  it('reads again at the next refresh when another instance opened it first', async () => {
    // Prepare
    const { breaker, store, opened } = setup();
    await breaker.refresh();
    store.loseNext = 'open';

    // Act: the burst trips it, but the conditional open loses; the cache would hold for 2 s
    for (let i = 0; i < 3; i += 1) await breaker.settle(CALL, 'failure', 'ServerError');
    await breaker.refresh();

    // Assess
    expect(opened).toEqual([]);
    expect(store.calls).toEqual(['read', 'record', 'open', 'read']);
  });

  it('ignores the outcome of a denied call', async () => {
    // Prepare
    const { breaker, store } = setup();

    // Act
    await breaker.settle({ kind: 'denied', retryAfterMs: 1, reason: 'open' }, 'failure', 'ServerError');
    await breaker.flush();

    // Assess
    expect(store.calls).toEqual([]);
  });
});

describe('SharedBreaker: reading the shared state', () => {
  it.each([
    [0, 1],
    [SETTINGS.cacheMs - 1, 1],
    [SETTINGS.cacheMs, 2],
  ])('refreshing %i ms after a read makes %i read(s) in all', async (after, reads) => {
    // Prepare
    const { breaker, store, advance } = setup();
    await breaker.refresh();

    // Act
    advance(after);
    await breaker.refresh();

    // Assess
    expect(store.calls.filter((call) => call === 'read')).toHaveLength(reads);
    expect(breaker.requests.reads).toBe(reads);
  });

  it.each([
    ['quiet (closed, no failure in the window)', {}, 3],
    ['with failures in the window', { failures: 1, calls: 4 }, 6],
    ['open, past its cooldown', { state: 'open' as const, openUntil: T - 1 }, 6],
  ])('a breaker %s is read every quietCacheMs, otherwise every cacheMs', async (_name, item, reads) => {
    // Prepare: quietCacheMs 7 s; reads at 0, 2, 4, 6 and 8 s would each be due by cacheMs alone
    const { breaker, store, advance } = setup({ settings: { quietCacheMs: 7000 }, item });

    // Act
    for (let step = 0; step < 5; step += 1) {
      await breaker.refresh();
      advance(SETTINGS.cacheMs);
    }
    advance(7000);
    await breaker.refresh();

    // Assess: quiet: at 0, 8 (7 s after) and 17 s; otherwise at 0, 2, 4, 6, 8 and 17 s
    expect(store.calls.filter((call) => call === 'read')).toHaveLength(reads);
  });

  it('an open breaker in its cooldown is read every openCacheMs', async () => {
    // Prepare: openCacheMs 5 s, cooldown until 60 s
    const { breaker, store, advance } = setup({ settings: { openCacheMs: 5000 }, item: { state: 'open', openUntil: T + 60_000 } });

    // Act: a refresh every 2 s for 10 s
    for (let step = 0; step <= 5; step += 1) {
      await breaker.refresh();
      advance(SETTINGS.cacheMs);
    }

    // Assess: at 0 and 6 s (every cacheMs, it would have been six reads)
    expect(store.calls.filter((call) => call === 'read')).toHaveLength(2);
  });

  it('uses what it read: an open breaker read from the store denies calls', async () => {
    // Prepare
    const { breaker, now } = setup({ item: { state: 'open', openUntil: T + 5000 } });

    // Act
    const before = breaker.allowsCalls();
    await breaker.refresh();

    // Assess
    expect(before).toBe(true);
    expect(breaker.allowsCalls()).toBe(false);
    expect(await breaker.acquire()).toEqual({ kind: 'denied', retryAfterMs: T + 5000 - now(), reason: 'open' });
  });
});

describe('SharedBreaker: the half-open probe', () => {
  /** An open breaker whose cooldown ends at T, read by this instance. */
  async function openAndCooledDown(settings: Partial<BreakerSettings> = {}) {
    const context = setup({ settings, item: { state: 'open', openUntil: T, openCount: 1, failures: 5, calls: 5 } });
    await context.breaker.refresh();
    return context;
  }

  it('lets exactly one caller probe once the cooldown is over', async () => {
    // Prepare
    const { breaker, store, now } = await openAndCooledDown();

    // Act: two records of this instance ask at once
    const [first, second] = await Promise.all([breaker.acquire(), breaker.acquire()]);

    // Assess
    expect(first).toMatchObject({ kind: 'probe', token: expect.any(String) });
    expect(second).toEqual({ kind: 'denied', retryAfterMs: SETTINGS.probeLeaseMs, reason: 'probing' });
    expect(store.item).toMatchObject({ state: 'half-open', probeUntil: now() + SETTINGS.probeLeaseMs });
    expect(store.calls.filter((call) => call === 'takeProbe')).toHaveLength(1);
  });

  it('takes a new probe after the previous attempt settled', async () => {
    // Prepare: the first probe failed and its cooldown is over again
    const { breaker, advance } = await openAndCooledDown();
    const first = await breaker.acquire();
    await breaker.settle(first, 'failure', 'ServerError');
    advance(SETTINGS.cooldownMs);

    // Act
    const second = await breaker.acquire();

    // Assess
    expect(second).toMatchObject({ kind: 'probe' });
    expect(second).not.toEqual(first);
  });

  it.each([
    ['success', true],
    ['neutral', true],
  ] as const)('a probe with a %s outcome closes the breaker with an empty window', async (outcome, closed) => {
    // Prepare
    const { breaker, store, settled, advance } = await openAndCooledDown();
    const probe = await breaker.acquire();
    advance(1500);

    // Act
    await breaker.settle(probe, outcome);

    // Assess: the model answered, so it is up, even when the answer itself was unusable
    expect(settled).toEqual([closed]);
    expect(store.item).toMatchObject({ state: 'closed', failures: 0, calls: 0, windowStart: T });
    expect(breaker.allowsCalls()).toBe(true);
    expect(await breaker.acquire()).toEqual({ kind: 'call' });
  });

  it('a failed probe reopens it for another cooldown, recording why', async () => {
    // Prepare
    const { breaker, store, settled, advance, now } = await openAndCooledDown();
    const probe = await breaker.acquire();
    advance(1500);

    // Act
    await breaker.settle(probe, 'failure', 'Throttled');

    // Assess
    expect(settled).toEqual([false]);
    expect(store.calls).toContain('reopenAfterProbe:Throttled');
    expect(store.item).toMatchObject({ state: 'open', openUntil: now() + SETTINGS.cooldownMs });
    expect(await breaker.acquire()).toEqual({ kind: 'denied', retryAfterMs: SETTINGS.cooldownMs, reason: 'open' });
  });

  it("a failed probe without an error class is recorded as 'Unknown'", async () => {
    // Prepare
    const { breaker, store } = await openAndCooledDown();
    const probe = await breaker.acquire();

    // Act
    await breaker.settle(probe, 'failure');

    // Assess
    expect(store.calls).toContain('reopenAfterProbe:Unknown');
  });

  it('a probe whose lease was taken over settles nothing and reads the state again', async () => {
    // Prepare
    const { breaker, store, settled } = await openAndCooledDown();
    const probe = await breaker.acquire();
    store.loseNext = 'settleProbe';

    // Act
    await breaker.settle(probe, 'success');
    await breaker.refresh();

    // Assess: no event, and the next refresh reads although the cache is fresh
    expect(settled).toEqual([]);
    expect(store.calls.slice(-2)).toEqual(['closeAfterProbe', 'read']);
  });

  it('settled probe: the cache holds again after the write', async () => {
    // Prepare
    const { breaker, store } = await openAndCooledDown();
    const probe = await breaker.acquire();

    // Act
    await breaker.settle(probe, 'success');
    await breaker.refresh();

    // Assess
    expect(store.calls.filter((call) => call === 'read')).toHaveLength(1);
  });

  it('when another instance holds the probe, this one waits one lease, then may probe', async () => {
    // Prepare
    const { breaker, store, advance } = await openAndCooledDown();
    store.loseNext = 'takeProbe';

    // Act
    const lost = await breaker.acquire();
    const whileLeased = await breaker.acquire();
    advance(SETTINGS.probeLeaseMs);
    const atLeaseEnd = await breaker.acquire();
    advance(1);
    const afterLease = await breaker.acquire();

    // Assess
    expect(lost).toEqual({ kind: 'denied', retryAfterMs: SETTINGS.probeLeaseMs, reason: 'probing' });
    expect(whileLeased).toEqual({ kind: 'denied', retryAfterMs: SETTINGS.probeLeaseMs, reason: 'probing' });
    expect(atLeaseEnd).toEqual({ kind: 'denied', retryAfterMs: 1, reason: 'probing' });
    expect(afterLease).toMatchObject({ kind: 'probe' });
    expect(breaker.allowsCalls()).toBe(false);
  });

  it('counts each probe write as a request', async () => {
    // Prepare
    const { breaker } = await openAndCooledDown();

    // Act
    const probe = await breaker.acquire();
    await breaker.settle(probe, 'success');

    // Assess
    expect(breaker.requests).toEqual({ reads: 1, writes: 2 });
  });
});

describe('breakerOutcomeOf: rate limited vs outage', () => {
  it.each<[string, unknown, 'success' | 'failure' | 'neutral']>([
    ['a 429 (Throttled) with Retry-After', new ModelCallError('Throttled', 'x', { status: 429, retryAfterMs: 1000 }), 'neutral'],
    ['a Throttled call without Retry-After', new ModelCallError('Throttled', 'x'), 'neutral'],
    ["the rate limiter's refusal", new RateLimitedError('model-a', 500, 'quota'), 'neutral'],
    ['a 500', new ModelCallError('ServerError', 'x', { status: 500 }), 'failure'],
    ['a timeout', new ModelCallError('Timeout', 'x'), 'failure'],
    ['a spent quota (systemic)', new ModelCallError('QuotaExhausted', 'x', { status: 429 }), 'failure'],
    ['a bad request (this request only)', new ModelCallError('BadRequest', 'x', { status: 400 }), 'neutral'],
    ['a content filter', new ModelCallError('ContentFiltered', 'x'), 'neutral'],
    ['a conflict', new ModelCallError('Conflict', 'x', { status: 409 }), 'neutral'],
    ['an error that is not a model call', new BreakerOpenError(['m'], 1), 'neutral'],
    ['a look-alike object marked systemic', { systemic: true, errorClass: 'ServerError' }, 'neutral'],
  ])('%s → %s', (_name, error, outcome) => {
    expect(breakerOutcomeOf(error)).toBe(outcome);
  });
});

describe('SharedBreaker: refusal (no I/O)', () => {
  it('is undefined while calls are allowed', () => {
    const { breaker, store } = setup();
    expect(breaker.refusal()).toBeUndefined();
    expect(store.calls).toEqual([]);
  });

  it('is undefined when a probe would be let through', async () => {
    const { breaker } = setup({ item: { state: 'open', openUntil: T } });
    await breaker.refresh();
    expect(breaker.refusal()).toBeUndefined();
  });

  it.each<[string, Partial<BreakerSnapshot>, { retryAfterMs: number; reason: string }]>([
    ['open in its cooldown', { state: 'open', openUntil: T + 4000 }, { retryAfterMs: 4000, reason: 'open' }],
    ['forced open', { forced: 'open' }, { retryAfterMs: SETTINGS.cooldownMs, reason: 'forced-open' }],
    ['probed by another instance', { state: 'half-open', probeUntil: T + 700 }, { retryAfterMs: 700, reason: 'probing' }],
  ])('says why and for how long when %s, without reading or writing', async (_name, item, expected) => {
    const { breaker, store } = setup({ item });
    await breaker.refresh();
    expect(breaker.refusal()).toEqual(expected);
    expect(store.calls).toEqual(['read']);
  });
});

describe('SharedBreaker: releasing an unused permit', () => {
  async function probing() {
    const context = setup({ item: { state: 'open', openUntil: T, openCount: 1 } });
    await context.breaker.refresh();
    const probe = await context.breaker.acquire();
    expect(probe).toMatchObject({ kind: 'probe' });
    return { ...context, probe };
  }

  it('a plain call permit counts nothing and writes nothing', async () => {
    const { breaker, store } = setup();
    await breaker.release(CALL);
    await breaker.flush();
    expect(store.calls).toEqual([]);
    expect(breaker.requests).toEqual({ reads: 0, writes: 0 });
  });

  it('a denied permit writes nothing', async () => {
    const { breaker, store } = setup();
    await breaker.release({ kind: 'denied', retryAfterMs: 1, reason: 'open' });
    expect(store.calls).toEqual([]);
  });

  it("a probe's lease is released at once, so the next caller may probe, and the state is read again", async () => {
    const { breaker, store, probe } = await probing();

    // Act
    await breaker.release(probe);

    // Assess
    expect(store.item).toMatchObject({ state: 'half-open', probeToken: undefined, probeUntil: T - 1 });
    expect(breaker.state).toMatchObject({ state: 'half-open', probeUntil: T - 1 });
    expect(breaker.requests).toEqual({ reads: 1, writes: 2 });
    expect(breaker.refusal()).toBeUndefined();
    await breaker.refresh();
    expect(await breaker.acquire()).toMatchObject({ kind: 'probe' });
    expect(store.calls).toEqual(['read', 'takeProbe', 'releaseProbe', 'read', 'takeProbe']);
  });

  it('a release that lost (the lease was taken over) keeps the state as last seen and reads again', async () => {
    const { breaker, store, probe } = await probing();
    store.loseNext = 'releaseProbe';

    // Act
    await breaker.release(probe);

    // Assess: still its own lease as far as it knows
    expect(breaker.state).toMatchObject({ state: 'half-open', probeUntil: T + SETTINGS.probeLeaseMs });
    expect(breaker.refusal()).toEqual({ retryAfterMs: SETTINGS.probeLeaseMs, reason: 'probing' });
    await breaker.refresh();
    expect(store.calls).toEqual(['read', 'takeProbe', 'releaseProbe', 'read']);
  });
});

describe('SharedBreaker: how long the state read is trusted', () => {
  /** Reads at T and T + 2 s (cacheMs); returns how many reads were made. */
  async function readsOverTwoSeconds(item: Partial<BreakerSnapshot>, settings: Partial<BreakerSettings> = {}) {
    const { breaker, store, advance } = setup({ settings: { quietCacheMs: 7000, openCacheMs: 5000, ...settings }, item });
    await breaker.refresh();
    advance(SETTINGS.cacheMs);
    await breaker.refresh();
    return store.calls.filter((call) => call === 'read').length;
  }

  it.each<[string, Partial<BreakerSnapshot>, number]>([
    ['open in its cooldown: openCacheMs', { state: 'open', openUntil: T + 60_000 }, 1],
    ['open, forced open: cacheMs', { state: 'open', forced: 'open', openUntil: T + 60_000 }, 2],
    ['open, past its cooldown: cacheMs', { state: 'open', openUntil: T - 1 }, 2],
    ['open, its cooldown ending at the second read: cacheMs', { state: 'open', openUntil: T + SETTINGS.cacheMs }, 2],
    ['closed with failures and a stale open-until: cacheMs', { failures: 1, calls: 2, openUntil: T + 60_000 }, 2],
    ['half-open with a stale open-until: cacheMs', { state: 'half-open', probeUntil: T + 60_000, openUntil: T + 60_000 }, 2],
    ['closed but forced closed: cacheMs, not quietCacheMs', { forced: 'closed' }, 2],
    ['quiet: quietCacheMs', {}, 1],
  ])('%s', async (_name, item, reads) => {
    expect(await readsOverTwoSeconds(item)).toBe(reads);
  });

  it('is not quiet once this instance has a failure of its own not yet written', async () => {
    // Prepare: a quiet breaker; the threshold is far, so the failure stays in memory
    const { breaker, store, advance } = setup({ settings: { quietCacheMs: 7000, failureThreshold: 10 } });
    await breaker.refresh();

    // Act
    await breaker.settle(CALL, 'failure', 'ServerError');
    advance(SETTINGS.cacheMs);
    await breaker.refresh();

    // Assess
    expect(store.calls).toEqual(['read', 'read']);
  });
});

describe('SharedBreaker: the writes it counts and what it writes', () => {
  it('counts the record write', async () => {
    const { breaker } = setup();
    await breaker.settle(CALL, 'failure', 'ServerError');
    await breaker.flush();
    expect(breaker.requests).toEqual({ reads: 0, writes: 1 });
    expect(breaker.state.state).toBe('closed');
  });

  it('counts the record write and the open write when it trips', async () => {
    const { breaker } = setup();
    for (let i = 0; i < 3; i += 1) await breaker.settle(CALL, 'failure', 'ServerError');
    expect(breaker.requests).toEqual({ reads: 0, writes: 2 });
    expect(breaker.state.state).toBe('open');
  });

  it('writes no error class for a batch without failures, even after an earlier failure', async () => {
    // Prepare: one failure written
    const { breaker, store } = setup();
    await breaker.settle(CALL, 'failure', 'Timeout');
    await breaker.flush();

    // Act: then a successful batch, written because the window holds that failure
    await breaker.settle(CALL, 'success');
    await breaker.flush();

    // Assess
    expect(store.recorded).toEqual([
      { calls: 1, failures: 1, lastErrorClass: 'Timeout' },
      { calls: 1, failures: 0, lastErrorClass: undefined },
    ]);
  });

  it('does not try to open a breaker that its write shows another instance already opened', async () => {
    // Prepare: this instance last saw it closed; another opened it since
    const { breaker, store, opened } = setup();
    await breaker.refresh();
    store.item = { ...store.item, state: 'open', openUntil: T + 30_000, openCount: 1 };

    // Act: a burst that would trip a closed breaker
    for (let i = 0; i < 3; i += 1) await breaker.settle(CALL, 'failure', 'ServerError');

    // Assess
    expect(store.calls).toEqual(['read', 'record']);
    expect(opened).toEqual([]);
    expect(breaker.requests.writes).toBe(1);
    expect(breaker.state).toMatchObject({ state: 'open', openUntil: T + 30_000 });
  });

  it('opens and settles probes without event listeners', async () => {
    // Prepare: no events given
    let now = T;
    const store = new InMemoryBreakerStore();
    store.item = { ...CLOSED_SNAPSHOT, windowStart: T };
    const breaker = new SharedBreaker('model-a', store as unknown as DynamoDbBreakerStore, SETTINGS, undefined, () => now);

    // Act: trip it, wait out the cooldown, probe successfully
    for (let i = 0; i < 3; i += 1) await breaker.settle(CALL, 'failure', 'ServerError');
    const openState = breaker.state.state;
    now += SETTINGS.cooldownMs;
    const probe = await breaker.acquire();
    await breaker.settle(probe, 'success');

    // Assess
    expect(openState).toBe('open');
    expect(probe).toMatchObject({ kind: 'probe' });
    expect(breaker.state.state).toBe('closed');
    expect(await breaker.acquire()).toEqual({ kind: 'call' });
  });
});
