/**
 * The simulator's provider quota (issue 14): the fault spec's rpm / tpm / burst-latency items and
 * the token bucket behind them, on a virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { FaultSpecError, hasFaults, parseFaultSpec, QUOTA_WINDOW_MS, scaleFaultSpec } from '../../local/model-simulator/fault-spec';
import { QuotaBucket, QuotaSeries } from '../../local/model-simulator/quota-bucket';

describe('fault spec: quota items', () => {
  it('parses rpm, tpm and burst-latency next to the other faults', () => {
    const spec = parseFaultSpec('rpm=600,tpm=90000,burst-latency=2000@20,outage=20-60');
    expect(spec.rpm).toBe(600);
    expect(spec.tpm).toBe(90_000);
    expect(spec.burstLatency).toEqual({ ms: 2000, concurrency: 20 });
    expect(spec.outage).toEqual({ fromMs: 20_000, toMs: 60_000 });
    expect(hasFaults(parseFaultSpec('rpm=600'))).toBe(true);
  });

  it.each(['rpm=0', 'rpm=1.5', 'rpm=', 'tpm=-3', 'burst-latency=2000', 'burst-latency=x@3', 'burst-latency=100@0'])('refuses %s', (text) => {
    expect(() => parseFaultSpec(text)).toThrow(FaultSpecError);
  });

  it('scales the quota window and the burst latency with the time scale, not the quota', () => {
    const scaled = scaleFaultSpec(parseFaultSpec('rpm=600,burst-latency=2000@20'), 0.1);
    expect(scaled.rpm).toBe(600);
    expect(scaled.quotaWindowMs).toBe(QUOTA_WINDOW_MS * 0.1);
    expect(scaled.burstLatency).toEqual({ ms: 200, concurrency: 20 });
    expect(scaleFaultSpec(parseFaultSpec('5xx=0.1'), 0.1).quotaWindowMs).toBeUndefined();
  });
});

describe('QuotaBucket', () => {
  it('admits a full bucket, then refuses with the time until the next token', () => {
    const bucket = new QuotaBucket(600, 60_000, 0); // one token per 100 ms
    for (let i = 0; i < 600; i += 1) expect(bucket.take(1, 0).ok).toBe(true);
    expect(bucket.take(1, 0)).toEqual({ ok: false, retryAfterMs: 100 });
    expect(bucket.take(1, 40)).toEqual({ ok: false, retryAfterMs: 60 });
    expect(bucket.take(1, 100).ok).toBe(true);
  });

  it('admits no more than capacity + rate × elapsed over any stretch', () => {
    const bucket = new QuotaBucket(60, 60_000, 0);
    let admitted = 0;
    for (let t = 0; t <= 120_000; t += 10) if (bucket.take(1, t).ok) admitted += 1;
    // 60 at once, then one per second for 120 s.
    expect(admitted).toBe(60 + 120);
  });

  it('a tokens bucket goes into debt when charged, and refuses until it is out of it', () => {
    const bucket = new QuotaBucket(1000, 60_000, 0);
    bucket.charge(1600, 0);
    const refused = bucket.check(0);
    expect(refused.ok).toBe(false);
    expect(refused.ok ? 0 : refused.retryAfterMs).toBeGreaterThanOrEqual(36_000);
    expect(bucket.check(36_001).ok).toBe(true);
  });
});

describe('QuotaSeries', () => {
  it('counts accepted and refused calls per model and window, empty windows as zeros', () => {
    const series = new QuotaSeries(1000);
    series.add('m', 10, true);
    series.add('m', 20, false);
    series.add('m', 2500, true);
    expect(series.toJSON()).toEqual({
      m: [
        { window: 0, accepted: 1, refused: 1 },
        { window: 1, accepted: 0, refused: 0 },
        { window: 2, accepted: 1, refused: 0 },
      ],
    });
  });
});
