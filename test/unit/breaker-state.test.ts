import { describe, expect, it } from 'vitest';
import {
  type BreakerSettings,
  type BreakerSnapshot,
  CLOSED_SNAPSHOT,
  gate,
  shouldTrip,
  slidingCounts,
  windowStartOf,
} from '../../lambda/resilience/breaker-state';

const settings: BreakerSettings = {
  failureThreshold: 10,
  failureRatePercent: 50,
  minCalls: 20,
  windowMs: 60_000,
  cooldownMs: 30_000,
  cacheMs: 2000,
  probeLeaseMs: 13_000,
};
const T = 1_800_000_000_000; // a window boundary (a multiple of 60 s)
const snapshot = (overrides: Partial<BreakerSnapshot>): BreakerSnapshot => ({ ...CLOSED_SNAPSHOT, windowStart: T, ...overrides });

describe('windowStartOf', () => {
  it('aligns windows to the epoch, so every instance agrees', () => {
    expect(windowStartOf(T, 60_000)).toBe(T);
    expect(windowStartOf(T + 59_999, 60_000)).toBe(T);
    expect(windowStartOf(T + 60_000, 60_000)).toBe(T + 60_000);
  });
});

describe('slidingCounts', () => {
  it('weighs the previous window by how much of it the sliding window still covers', () => {
    const item = snapshot({ failures: 4, calls: 10, previousFailures: 10, previousCalls: 20 });
    expect(slidingCounts(item, T, 60_000)).toEqual({ failures: 14, calls: 30 });
    expect(slidingCounts(item, T + 30_000, 60_000)).toEqual({ failures: 9, calls: 20 });
  });

  it('treats an item one window old as the previous window, and an older one as empty', () => {
    const item = snapshot({ failures: 10, calls: 20 });
    expect(slidingCounts(item, T + 60_000 + 15_000, 60_000)).toEqual({ failures: 7.5, calls: 15 });
    expect(slidingCounts(item, T + 120_000, 60_000)).toEqual({ failures: 0, calls: 0 });
  });
});

describe('shouldTrip', () => {
  it.each<[string, Partial<BreakerSnapshot>, boolean]>([
    ['no failures', { calls: 100 }, false],
    ['failures at the threshold', { failures: 10, calls: 100 }, true],
    ['failures below the threshold and rate', { failures: 9, calls: 100 }, false],
    ['a failure rate over 50% once 20 calls are in', { failures: 8, calls: 15, previousFailures: 2, previousCalls: 5 }, true],
    ['a high failure rate over too few calls', { failures: 6, calls: 8 }, false],
    ['forced closed, whatever the counts', { failures: 100, calls: 100, forced: 'closed' }, false],
  ])('%s → %s', (_name, overrides, expected) => {
    expect(shouldTrip(snapshot(overrides), T, settings)).toBe(expected);
  });

  it('honours a rule turned off (0)', () => {
    expect(shouldTrip(snapshot({ failures: 50, calls: 50 }), T, { ...settings, failureThreshold: 0, failureRatePercent: 0 })).toBe(false);
  });
});

describe('gate', () => {
  it.each<[string, Partial<BreakerSnapshot>, number, ReturnType<typeof gate>]>([
    ['closed', {}, T, { kind: 'allow' }],
    ['open, in its cooldown', { state: 'open', openUntil: T + 5000 }, T, { kind: 'deny', retryAfterMs: 5000, reason: 'open' }],
    ['open, cooldown over', { state: 'open', openUntil: T }, T, { kind: 'probe-available' }],
    ['half-open, probe lease live', { state: 'half-open', probeUntil: T + 1000 }, T, { kind: 'deny', retryAfterMs: 1000, reason: 'probing' }],
    ['half-open, probe lease over (its instance died)', { state: 'half-open', probeUntil: T - 1 }, T, { kind: 'probe-available' }],
    ['forced open, even when closed', { forced: 'open' }, T, { kind: 'deny', retryAfterMs: 30_000, reason: 'forced-open' }],
    ['forced closed, even when open', { state: 'open', openUntil: T + 5000, forced: 'closed' }, T, { kind: 'allow' }],
  ])('%s', (_name, overrides, now, expected) => {
    expect(gate(snapshot(overrides), now, settings)).toEqual(expected);
  });
});

describe('gate at its edges', () => {
  it.each<[string, Partial<BreakerSnapshot>, number, ReturnType<typeof gate>]>([
    ['open, 1 ms before the cooldown ends', { state: 'open', openUntil: T + 1 }, T, { kind: 'deny', retryAfterMs: 1, reason: 'open' }],
    [
      'half-open, at the exact end of the probe lease (the holder may still answer)',
      { state: 'half-open', probeUntil: T },
      T,
      { kind: 'deny', retryAfterMs: 1, reason: 'probing' },
    ],
    ['half-open, 1 ms after the probe lease', { state: 'half-open', probeUntil: T }, T + 1, { kind: 'probe-available' }],
    [
      'forced open, even when half-open with a lease over',
      { state: 'half-open', probeUntil: T - 1, forced: 'open' },
      T,
      { kind: 'deny', retryAfterMs: 30_000, reason: 'forced-open' },
    ],
  ])('%s', (_name, overrides, now, expected) => {
    expect(gate(snapshot(overrides), now, settings)).toEqual(expected);
  });
});

describe('shouldTrip at its edges', () => {
  it.each<[string, Partial<BreakerSettings>, Partial<BreakerSnapshot>, boolean]>([
    ['a rate exactly at the limit, over exactly minCalls', { failureThreshold: 0 }, { failures: 10, calls: 20 }, true],
    ['a rate just under the limit', { failureThreshold: 0 }, { failures: 9, calls: 20 }, false],
    ['a rate over the limit with one call fewer than minCalls', { failureThreshold: 0 }, { failures: 19, calls: 19 }, false],
    ['the rate rule off, the count rule on', { failureThreshold: 5, failureRatePercent: 0 }, { failures: 5, calls: 5 }, true],
    ['minCalls 0 and an empty window', { failureThreshold: 0, minCalls: 0 }, { failures: 0, calls: 0 }, false],
    ['a threshold count of failures from the previous window alone', {}, { windowStart: T - 60_000, failures: 20, calls: 20 }, true],
  ])('%s → %s', (_name, overrides, item, expected) => {
    expect(shouldTrip(snapshot(item), T, { ...settings, ...overrides })).toBe(expected);
  });
});

describe('slidingCounts: the previous window fades linearly', () => {
  it.each([
    [0, { failures: 10, calls: 20 }],
    [15_000, { failures: 7.5, calls: 15 }],
    [45_000, { failures: 2.5, calls: 5 }],
  ])('%i ms into the next window', (into, expected) => {
    expect(slidingCounts(snapshot({ failures: 10, calls: 20 }), T + 60_000 + into, 60_000)).toEqual(expected);
  });
});
