import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelCallError, TimeBudgetExhaustedError } from '../../lambda/errors/pipeline-errors';
import { queueBackoffSeconds } from '../../lambda/resilience/queue-backoff';
import { type AttemptContext, type GiveUpReason, RetryPolicy } from '../../lambda/resilience/retry-policy';

/** A virtual clock: sleeping and working advance it, nothing waits for real. */
function clock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

const throttled = (retryAfterMs?: number) => new ModelCallError('Throttled', 'slow down', { retryAfterMs });

describe('RetryPolicy', () => {
  it('returns the first success without retrying', async () => {
    const time = clock();
    const policy = new RetryPolicy({ now: time.now, sleep: time.sleep });
    const result = await policy.execute(async () => 'ok', { deadline: time.now() + 10_000 });
    expect(result).toBe('ok');
  });

  it('retries retryable errors up to maxAttempts, then throws the last one', async () => {
    const time = clock();
    const policy = new RetryPolicy({ maxAttempts: 3, now: time.now, sleep: time.sleep, random: () => 0.5 });
    const attempts: number[] = [];
    const giveUps: GiveUpReason[] = [];
    const last = new ModelCallError('ServerError', 'third');
    const error = await policy
      .execute(
        async ({ attempt }) => {
          attempts.push(attempt);
          throw attempt === 3 ? last : new ModelCallError('ServerError', 'again');
        },
        { deadline: time.now() + 60_000, onGiveUp: ({ reason }) => giveUps.push(reason) },
      )
      .catch((caught: unknown) => caught);
    expect(error).toBe(last);
    expect(attempts).toEqual([1, 2, 3]);
    expect(giveUps).toEqual(['attempts']);
  });

  it.each(['QuotaExhausted', 'AccessDenied', 'BadRequest', 'ContentFiltered', 'NotFound'] as const)('never retries %s', async (errorClass) => {
    const time = clock();
    const policy = new RetryPolicy({ maxAttempts: 5, now: time.now, sleep: time.sleep });
    let calls = 0;
    const giveUps: GiveUpReason[] = [];
    await expect(
      policy.execute(
        async () => {
          calls += 1;
          throw new ModelCallError(errorClass, 'no');
        },
        { deadline: time.now() + 60_000, onGiveUp: ({ reason }) => giveUps.push(reason) },
      ),
    ).rejects.toMatchObject({ errorClass });
    expect(calls).toBe(1);
    expect(giveUps).toEqual(['not-retryable']);
  });

  it('never retries an error that is not a ModelCallError', async () => {
    const time = clock();
    let calls = 0;
    await expect(
      new RetryPolicy({ now: time.now, sleep: time.sleep }).execute(
        async () => {
          calls += 1;
          throw new TypeError('bug');
        },
        { deadline: time.now() + 60_000 },
      ),
    ).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(1);
  });

  it('waits at least Retry-After, even when it is longer than the backoff cap', async () => {
    const time = clock();
    const delays: number[] = [];
    const policy = new RetryPolicy({ maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 200, now: time.now, sleep: time.sleep, random: () => 0.99 });
    let attempt = 0;
    await policy.execute(
      async () => {
        attempt += 1;
        if (attempt < 3) throw throttled(1500);
        return 'ok';
      },
      { deadline: time.now() + 60_000, onRetry: ({ delayMs }) => delays.push(delayMs) },
    );
    expect(delays).toEqual([1500, 1500]);
  });

  it('uses full jitter under an exponential cap when there is no Retry-After', () => {
    const policy = new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999 });
    expect([1, 2, 3, 4, 5].map((attempt) => policy.backoff(attempt))).toEqual([99, 199, 399, 799, 999]);
    expect(new RetryPolicy({ baseDelayMs: 100, random: () => 0 }).backoff(3)).toBe(0);
  });

  it('gives up instead of sleeping past the deadline, keeping the error (and its Retry-After) for the queue', async () => {
    const time = clock();
    const policy = new RetryPolicy({ maxAttempts: 5, now: time.now, sleep: time.sleep, callTimeoutMs: 1000, minAttemptMs: 100 });
    const giveUps: GiveUpReason[] = [];
    const error = await policy
      .execute(
        async () => {
          throw throttled(5000);
        },
        { deadline: time.now() + 3000, onGiveUp: ({ reason }) => giveUps.push(reason) },
      )
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ errorClass: 'Throttled', retryAfterMs: 5000 });
    expect(giveUps).toEqual(['time']);
    expect(time.now()).toBe(1_000_000); // it did not sleep
  });

  it('gives each attempt the smaller of its timeout and the time left, as an AbortSignal', async () => {
    const time = clock();
    const policy = new RetryPolicy({ maxAttempts: 3, callTimeoutMs: 2000, minAttemptMs: 100, now: time.now, sleep: time.sleep, random: () => 0 });
    const seen: AttemptContext[] = [];
    await policy
      .execute(
        async (context) => {
          seen.push(context);
          time.advance(context.timeoutMs); // each attempt runs until its timeout
          throw new ModelCallError('Timeout', 'slow');
        },
        { deadline: time.now() + 4500 },
      )
      .catch(() => undefined);
    expect(seen.map((context) => context.timeoutMs)).toEqual([2000, 2000, 500]);
    expect(seen.every((context) => context.signal instanceof AbortSignal)).toBe(true);
  });

  it('runs beforeAttempt (a rate limiter’s wait) before each attempt’s timeout starts, and stops on what it throws', async () => {
    const time = clock();
    const policy = new RetryPolicy({ maxAttempts: 3, callTimeoutMs: 2000, minAttemptMs: 100, now: time.now, sleep: time.sleep, random: () => 0 });
    const seen: number[] = [];
    const waits: number[] = [];
    const refusal = new Error('no token');
    const error = await policy
      .execute(
        async (context) => {
          seen.push(context.timeoutMs);
          throw new ModelCallError('Throttled', '429', { retryAfterMs: 10 });
        },
        {
          deadline: time.now() + 10_000,
          beforeAttempt: async (attempt) => {
            waits.push(attempt);
            if (attempt === 3) throw refusal;
            time.advance(1500); // waited for a token
          },
        },
      )
      .catch((thrown: unknown) => thrown);
    // The waits did not shorten the calls: each attempt still got its whole timeout.
    expect(seen).toEqual([2000, 2000]);
    expect(waits).toEqual([1, 2, 3]);
    expect(error).toBe(refusal);
  });

  it('does not start at all with less than minAttemptMs left: TimeBudgetExhaustedError', async () => {
    const time = clock();
    let calls = 0;
    await expect(
      new RetryPolicy({ minAttemptMs: 200, now: time.now, sleep: time.sleep }).execute(
        async () => {
          calls += 1;
          return 'x';
        },
        { deadline: time.now() + 150 },
      ),
    ).rejects.toBeInstanceOf(TimeBudgetExhaustedError);
    expect(calls).toBe(0);
  });

  it('stops retrying when mayRetry says no (an open breaker), and a probe gets one attempt', async () => {
    const time = clock();
    const policy = new RetryPolicy({ maxAttempts: 5, now: time.now, sleep: time.sleep });
    let calls = 0;
    const fail = async () => {
      calls += 1;
      throw new ModelCallError('ServiceUnavailable', 'down');
    };
    await expect(policy.execute(fail, { deadline: time.now() + 60_000, mayRetry: () => false })).rejects.toMatchObject({ errorClass: 'ServiceUnavailable' });
    expect(calls).toBe(1);
    await expect(policy.execute(fail, { deadline: time.now() + 60_000, maxAttempts: 1 })).rejects.toMatchObject({ errorClass: 'ServiceUnavailable' });
    expect(calls).toBe(2);
  });

  it('aborts the attempt in flight when the attempt timeout passes (real timers)', async () => {
    const policy = new RetryPolicy({ maxAttempts: 1, callTimeoutMs: 50, minAttemptMs: 10 });
    const started = performance.now();
    await expect(
      policy.execute(
        ({ signal }) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => reject(new ModelCallError('Timeout', 'aborted')));
          }),
        { deadline: Date.now() + 5000 },
      ),
    ).rejects.toMatchObject({ errorClass: 'Timeout' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('property: whatever the provider does, attempts × timeout + backoff never outlast the deadline', async () => {
    const step = fc.record({
      latencyMs: fc.integer({ min: 0, max: 20_000 }),
      outcome: fc.constantFrom('ok', 'Throttled', 'ServerError', 'Timeout', 'QuotaExhausted'),
      retryAfterMs: fc.option(fc.integer({ min: 0, max: 30_000 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 30_000 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 15_000 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        async (steps, budgetMs, maxAttempts, callTimeoutMs, jitter) => {
          const time = clock();
          const deadline = time.now() + budgetMs;
          const policy = new RetryPolicy({
            maxAttempts,
            callTimeoutMs,
            baseDelayMs: 300,
            maxDelayMs: 8000,
            now: time.now,
            sleep: time.sleep,
            random: () => jitter,
          });
          let index = 0;
          let attempts = 0;
          await policy
            .execute(
              async ({ timeoutMs }) => {
                attempts += 1;
                const current = steps[Math.min(index, steps.length - 1)]!;
                index += 1;
                // The call ends at its latency or at its timeout (the abort), whichever comes first.
                time.advance(Math.min(current.latencyMs, timeoutMs));
                if (current.latencyMs > timeoutMs) throw new ModelCallError('Timeout', 'aborted');
                if (current.outcome === 'ok') return 'ok';
                throw new ModelCallError(current.outcome, 'x', { retryAfterMs: current.retryAfterMs });
              },
              { deadline },
            )
            .catch(() => undefined);
          expect(time.now()).toBeLessThanOrEqual(deadline);
          expect(attempts).toBeLessThanOrEqual(maxAttempts);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('queueBackoffSeconds', () => {
  const options = (random: number) => ({ baseSeconds: 10, maxSeconds: 300, random: () => random });

  it.each<[number, number, number]>([
    // receive count, lowest (random 0), highest (random → 1)
    [1, 5, 10],
    [2, 10, 20],
    [3, 20, 40],
    [4, 40, 80],
    [6, 150, 300],
    [20, 150, 300],
  ])('after receive %i: between %i and %i s (equal jitter, capped)', (receiveCount, low, high) => {
    expect(queueBackoffSeconds(receiveCount, options(0))).toBe(low);
    expect(queueBackoffSeconds(receiveCount, options(0.9999))).toBe(high);
  });

  it('never undercuts the floor (Retry-After, breaker cooldown) and never exceeds the SQS maximum', () => {
    expect(queueBackoffSeconds(1, options(0), 42_500)).toBe(43);
    expect(queueBackoffSeconds(1, options(0), 10 ** 9)).toBe(43_200);
  });

  it('is at least one second', () => {
    expect(queueBackoffSeconds(1, { baseSeconds: 1, maxSeconds: 1, random: () => 0 })).toBe(1);
  });

  it('spreads records that failed together', () => {
    let seed = 1;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const delays = Array.from({ length: 100 }, () => queueBackoffSeconds(4, { baseSeconds: 10, maxSeconds: 300, random }));
    expect(new Set(delays).size).toBeGreaterThan(20);
  });
});

describe('RetryPolicy: the deadline check, at its edges', () => {
  /** A policy whose backoff is exactly `delayMs` (random 1 × cap), on a virtual clock. */
  function fixedDelay(delayMs: number, minAttemptMs: number) {
    const time = clock();
    const policy = new RetryPolicy({
      maxAttempts: 2,
      baseDelayMs: delayMs,
      maxDelayMs: delayMs,
      minAttemptMs,
      random: () => 0.999_999_999,
      now: time.now,
      sleep: time.sleep,
    });
    return { time, policy };
  }

  it.each([
    ['leaves exactly minAttemptMs after the backoff: retried', 0, [1, 2], []],
    ['leaves 1 ms less: not retried, given up for time', -1, [1], ['time']],
  ] as const)('a retry that %s', async (_name, slack, attempts, reasons) => {
    // Prepare: backoff 1000 ms (floor of 0.999… × 1001), minAttemptMs 500; the first attempt takes no time
    const { time, policy } = fixedDelay(1001, 500);
    const deadline = time.now() + 1000 + 500 + slack;
    const seen: number[] = [];
    const giveUps: GiveUpReason[] = [];

    // Act
    await policy
      .execute(
        async ({ attempt }) => {
          seen.push(attempt);
          throw new ModelCallError('ServerError', 'down');
        },
        { deadline, onGiveUp: ({ reason }) => giveUps.push(reason) },
      )
      .catch(() => undefined);

    // Assess: the second attempt, when made, is also the last (maxAttempts 2)
    expect(seen).toEqual(attempts);
    expect(giveUps).toEqual(reasons.length > 0 ? reasons : ['attempts']);
  });

  it.each([
    ['exactly minAttemptMs left: the attempt is made', 500, 1],
    ['1 ms less: no attempt', 499, 0],
  ] as const)('first attempt with %s', async (_name, left, calls) => {
    // Prepare
    const time = clock();
    const policy = new RetryPolicy({ minAttemptMs: 500, now: time.now, sleep: time.sleep });
    let made = 0;

    // Act
    const outcome = await policy
      .execute(
        async ({ timeoutMs }) => {
          made += 1;
          return timeoutMs;
        },
        { deadline: time.now() + left },
      )
      .catch((error: unknown) => error);

    // Assess: the one attempt gets all the time left as its timeout
    expect(made).toBe(calls);
    expect(outcome).toEqual(calls === 1 ? left : expect.any(TimeBudgetExhaustedError));
  });

  it('does not start an attempt once the caller aborted', async () => {
    // Prepare
    const time = clock();
    const policy = new RetryPolicy({ now: time.now, sleep: time.sleep });
    const controller = new AbortController();
    controller.abort();
    const giveUps: GiveUpReason[] = [];
    let made = 0;

    // Act
    const error = await policy
      .execute(
        async () => {
          made += 1;
        },
        { deadline: time.now() + 60_000, signal: controller.signal, onGiveUp: ({ reason, attempts }) => giveUps.push(`${reason}/${attempts}` as GiveUpReason) },
      )
      .catch((caught: unknown) => caught);

    // Assess
    expect(made).toBe(0);
    expect(error).toBeInstanceOf(TimeBudgetExhaustedError);
    expect(giveUps).toEqual(['time/0']);
  });

  it('keeps the last model error, not a time error, when time runs out after a retry', async () => {
    // Prepare: attempt 1 fails and sleeps; attempt 2 starts with too little time left because the work itself took long
    const time = clock();
    const policy = new RetryPolicy({ maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, minAttemptMs: 500, random: () => 0, now: time.now, sleep: time.sleep });
    const deadline = time.now() + 2000;
    const last = new ModelCallError('ServerError', 'second');
    const attempts: number[] = [];

    // Act
    const error = await policy
      .execute(
        async ({ attempt }) => {
          attempts.push(attempt);
          time.advance(attempt === 1 ? 100 : 1500);
          throw attempt === 1 ? new ModelCallError('ServerError', 'first') : last;
        },
        { deadline },
      )
      .catch((caught: unknown) => caught);

    // Assess
    expect(attempts).toEqual([1, 2]);
    expect(error).toBe(last);
  });

  it.each([
    ['the default, a quarter of a short call timeout', { callTimeoutMs: 2000 }, 500],
    ['the default, at most one second', { callTimeoutMs: 10_000 }, 1000],
    ['set explicitly', { callTimeoutMs: 10_000, minAttemptMs: 50 }, 50],
  ])('minAttemptMs: %s', (_name, options, expected) => {
    expect(new RetryPolicy(options).minAttemptMs).toBe(expected);
  });

  it.each([
    ['the policy caps a caller asking for more', 5, 3],
    ['a probe gets the one attempt it asks for', 1, 1],
    ['at least one attempt', 0, 1],
  ])('attempts per call: %s', async (_name, asked, made) => {
    // Prepare
    const time = clock();
    const policy = new RetryPolicy({ maxAttempts: 3, random: () => 0, now: time.now, sleep: time.sleep });
    let calls = 0;

    // Act
    await policy
      .execute(
        async () => {
          calls += 1;
          throw new ModelCallError('ServerError', 'down');
        },
        { deadline: time.now() + 60_000, maxAttempts: asked },
      )
      .catch(() => undefined);

    // Assess
    expect(calls).toBe(made);
  });

  it('has at least one attempt even when configured with none', () => {
    expect(new RetryPolicy({ maxAttempts: 0 }).maxAttempts).toBe(1);
  });

  it('reports each retry with its attempt, delay and error before sleeping', async () => {
    // Prepare
    const time = clock();
    const policy = new RetryPolicy({ maxAttempts: 2, baseDelayMs: 1000, random: () => 0.5, now: time.now, sleep: time.sleep });
    const failure = new ModelCallError('ServerError', 'down');
    const retries: Array<{ attempt: number; delayMs: number; error: unknown; at: number }> = [];
    const start = time.now();

    // Act
    await policy
      .execute(
        async ({ attempt }) => {
          if (attempt === 1) throw failure;
          return 'ok';
        },
        { deadline: start + 60_000, onRetry: (event) => retries.push({ ...event, at: time.now() }) },
      )
      .catch(() => undefined);

    // Assess
    expect(retries).toEqual([{ attempt: 1, delayMs: 500, error: failure, at: start }]);
    expect(time.now()).toBe(start + 500);
  });
});
