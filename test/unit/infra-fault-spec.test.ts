import { describe, expect, it } from 'vitest';
import { rateAt } from '../../local/fault-window';
import { INFRA_FAULT_KINDS, infraFaultWindow, scaleInfraFaultSpec, zeroInfraFaultCounts } from '../../local/aws-boundary/infra-fault-spec';
import { FaultSpecError, hasFaults, parseFaultSpec } from '../../local/model-simulator/fault-spec';

/** The infrastructure items of the fault spec (local/aws-boundary/infra-fault-spec.ts), through the one parser `--faults` uses. */
describe('fault spec: infrastructure items', () => {
  it.each([
    ['ddb-throttle=0.05', { ddbThrottle: { rate: 0.05 } }],
    ['ddb-error=0.02', { ddbError: { rate: 0.02 } }],
    ['ddb-latency=200@0.1', { ddbLatency: { ms: 200, rate: 0.1 } }],
    ['ddb-hang=0.01', { ddbHang: { rate: 0.01 } }],
    ['sqs-error=0.02', { sqsError: { rate: 0.02 } }],
    ['crash=0.02', { crash: { rate: 0.02 } }],
    ['timeout=0.1', { timeout: { rate: 0.1 } }],
    ['redeliver=0.05', { redeliver: { rate: 0.05 } }],
  ])('%s', (text, infra) => {
    const spec = parseFaultSpec(text);
    expect(spec.infra).toEqual(infra);
    // Infrastructure faults are faults: a stage that forbids injection refuses them.
    expect(hasFaults(spec)).toBe(true);
  });

  it('combines with model faults; the simulator part is unchanged', () => {
    const spec = parseFaultSpec('ddb-throttle=0.05,ddb-error=0.02,sqs-error=0.02,crash=0.02,redeliver=0.05,429=0.2,5xx=0.1,malformed=0.05');
    expect(spec.infra).toEqual({
      ddbThrottle: { rate: 0.05 },
      ddbError: { rate: 0.02 },
      sqsError: { rate: 0.02 },
      crash: { rate: 0.02 },
      redeliver: { rate: 0.05 },
    });
    expect(spec.throttle).toEqual({ rate: 0.2 });
    expect(spec.serverError).toEqual({ rate: 0.1 });
    expect(spec.malformed).toEqual({ rate: 0.05 });
  });

  it.each([
    ['ddb-throttle=1.5', /ddb-throttle=1\.5: the rate must be a fraction from 0 to 1/],
    ['ddb-latency=200', /ddb-latency=200: expected MS@RATE/],
    ['ddb-latency=abc@0.1', /expected MS@RATE/],
    ['ddb-throttle=0.6,ddb-error=0.3,ddb-hang=0.2', /ddb-throttle, ddb-error and ddb-hang add up to 1\.1/],
    ['crash=0.7,timeout=0.4', /crash and timeout add up to 1\.1/],
    ['crash=0.1,crash=0.2', /"crash" appears twice/],
    ['ddb-slow=0.1', /unknown fault "ddb-slow"; valid items: .*ddb-throttle=RATE/],
  ])('%s is refused: %s', (text, message) => {
    expect(() => parseFaultSpec(text)).toThrow(FaultSpecError);
    expect(() => parseFaultSpec(text)).toThrow(message);
  });

  it('scales ddb-latency with the time scale, and nothing else', () => {
    expect(scaleInfraFaultSpec({ ddbLatency: { ms: 200, rate: 0.5 }, crash: { rate: 0.1 } }, 0.1)).toEqual({
      ddbLatency: { ms: 20, rate: 0.5 },
      crash: { rate: 0.1 },
    });
  });

  it('counts start at zero for every kind', () => {
    expect(Object.keys(zeroInfraFaultCounts())).toEqual([...INFRA_FAULT_KINDS]);
    expect(Object.values(zeroInfraFaultCounts()).every((count) => count === 0)).toBe(true);
  });
});

describe('fault spec: infrastructure windows (RATE/FROM-TO)', () => {
  const w = (fromS: number, toS: number) => ({ fromMs: fromS * 1000, toMs: toS * 1000 });

  it.each([
    ['crash=0.5/30-150', { crash: { rate: 0.5, window: w(30, 150) } }],
    ['timeout=0.2/1-2', { timeout: { rate: 0.2, window: w(1, 2) } }],
    ['ddb-throttle=0.5/30-150', { ddbThrottle: { rate: 0.5, window: w(30, 150) } }],
    ['ddb-error=0.5/500ms-900ms', { ddbError: { rate: 0.5, window: { fromMs: 500, toMs: 900 } } }],
    ['ddb-latency=200@0.3/10-60', { ddbLatency: { ms: 200, rate: 0.3, window: w(10, 60) } }],
    ['ddb-hang=0.1/10-60', { ddbHang: { rate: 0.1, window: w(10, 60) } }],
    ['sqs-error=0.1/10-60', { sqsError: { rate: 0.1, window: w(10, 60) } }],
    ['redeliver=0.1/1.5s-3s', { redeliver: { rate: 0.1, window: { fromMs: 1500, toMs: 3000 } } }],
  ])('%s', (text, infra) => {
    const spec = parseFaultSpec(text);
    expect(spec.infra).toEqual(infra);
    expect(hasFaults(spec)).toBe(true);
  });

  it.each([
    ['crash=0.5/150-30', /crash=0\.5\/150-30: the end must come after the start/],
    ['crash=0.5/30-', /crash=0\.5\/30-: the rate must be a fraction from 0 to 1, e\.g\. crash=0\.05 \(or crash=0\.05\/30-150/],
    ['ddb-latency=200/10-60', /ddb-latency=200\/10-60: expected MS@RATE\[\/FROM-TO\]/],
    // The sums are checked whatever the windows: these two never meet, and are still refused.
    ['crash=0.7/0-10,timeout=0.4/20-30', /crash and timeout add up to 1\.1/],
  ])('%s is refused: %s', (text, message) => {
    expect(() => parseFaultSpec(text)).toThrow(FaultSpecError);
    expect(() => parseFaultSpec(text)).toThrow(message);
  });

  it('scales every window and ddb-latency with the time scale', () => {
    const spec = parseFaultSpec('crash=0.5/30-150,ddb-latency=200@0.3/10-60,sqs-error=0.1').infra ?? {};
    expect(scaleInfraFaultSpec(spec, 0.1)).toEqual({
      crash: { rate: 0.5, window: w(3, 15) },
      ddbLatency: { ms: 20, rate: 0.3, window: w(1, 6) },
      sqsError: { rate: 0.1 },
    });
  });

  it.each<[string, object | undefined]>([
    ['', undefined],
    ['5xx=0.5/1-2', undefined],
    ['crash=0.5/30-150', w(30, 150)],
    ['crash=0.5/30-150,ddb-latency=200@0.3/10-60,redeliver=0.1/100-200', w(10, 200)],
    ['crash=0.5/30-150,sqs-error=0.1', undefined],
    ['crash=0.5/30-150,sqs-error=0', w(30, 150)],
  ])('infraFaultWindow(%j) → %j', (text, expected) => {
    expect(infraFaultWindow(parseFaultSpec(text).infra)).toEqual(expected);
  });

  it('a fault injects at its rate inside its window, at 0 before and after', () => {
    const crash = parseFaultSpec('crash=0.5/30-150').infra?.crash;
    expect(rateAt(crash, 29_999)).toBe(0);
    expect(rateAt(crash, 30_000)).toBe(0.5);
    expect(rateAt(crash, 149_999)).toBe(0.5);
    expect(rateAt(crash, 150_000)).toBe(0);
    expect(rateAt(parseFaultSpec('crash=0.5').infra?.crash, 1e9)).toBe(0.5);
  });
});
