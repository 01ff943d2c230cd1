import { describe, expect, it } from 'vitest';
import { INFRA_FAULT_KINDS, scaleInfraFaultSpec, zeroInfraFaultCounts } from '../../local/aws-boundary/infra-fault-spec';
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
