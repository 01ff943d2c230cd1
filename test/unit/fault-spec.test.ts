import { describe, expect, it } from 'vitest';
import { answerFaultRate, FAULT_PROFILES, FaultSpecError, hasFaults, parseFaultSpec, scaleFaultSpec } from '../../local/model-simulator/fault-spec';
import { draw } from '../../local/model-simulator/model-simulator';
import { seededRandom } from '../../lambda/shared/seeded-random';

describe('parseFaultSpec', () => {
  it.each<[string, object]>([
    ['429=0.3', { throttle: { rate: 0.3 } }],
    ['429=0.3:2000', { throttle: { rate: 0.3, retryAfterMs: 2000 } }],
    ['5xx=0.2', { serverError: { rate: 0.2 } }],
    ['latency=3000@0.5', { latency: { ms: 3000, rate: 0.5 } }],
    ['base=100', { baseLatencyMs: 100 }],
    ['hang=0.05', { hang: { rate: 0.05 } }],
    ['malformed=0.05', { malformed: { rate: 0.05 } }],
    ['truncated=0.1', { truncated: { rate: 0.1 } }],
    ['schema=0.05', { schema: { rate: 0.05 } }],
    ['quota=1', { quota: { rate: 1 } }],
    ['outage=5-45', { outage: { fromMs: 5000, toMs: 45_000 } }],
    ['outage=500ms-4500ms', { outage: { fromMs: 500, toMs: 4500 } }],
    ['outage=1.5s-3s', { outage: { fromMs: 1500, toMs: 3000 } }],
    ['truncated=0.1, malformed=0.05 ,schema=0.05', { truncated: { rate: 0.1 }, malformed: { rate: 0.05 }, schema: { rate: 0.05 } }],
    ['brownout', { baseLatencyMs: 100, latency: { ms: 2900, rate: 0.5 } }],
    ['brownout,429=0.1', { baseLatencyMs: 100, latency: { ms: 2900, rate: 0.5 }, throttle: { rate: 0.1 } }],
    ['zero-latency', { baseLatencyMs: 0 }],
    ['', { baseLatencyMs: 0 }],
  ])('%j', (text, expected) => {
    expect(parseFaultSpec(text)).toMatchObject(expected);
  });

  it.each<[string, RegExp]>([
    ['503=0.2', /unknown fault "503"; valid items: 429=RATE/],
    ['429', /"429" is not KEY=VALUE/],
    ['429=1.5', /429=1.5: the rate must be a fraction from 0 to 1/],
    ['5xx=-0.1', /5xx=-0.1: the rate must be a fraction/],
    ['hang=', /"hang=" is not KEY=VALUE/],
    ['latency=3000', /latency=3000: expected MS@RATE/],
    ['latency=fast@0.5', /latency: "fast" is not a whole number of milliseconds/],
    ['outage=45-5', /the end must come after the start/],
    ['outage=soon', /outage=soon: expected FROM-TO/],
    ['429=0.6,5xx=0.6', /add up to 1.2, more than 1/],
    ['429=0.1,429=0.2', /"429" appears twice/],
  ])('refuses %j, saying why', (text, message) => {
    expect(() => parseFaultSpec(text)).toThrow(FaultSpecError);
    expect(() => parseFaultSpec(text)).toThrow(message);
  });

  it('every profile parses', () => {
    for (const profile of Object.keys(FAULT_PROFILES)) expect(() => parseFaultSpec(profile)).not.toThrow();
  });
});

describe('scaleFaultSpec', () => {
  it('multiplies every duration by the time scale and leaves rates alone', () => {
    const spec = parseFaultSpec('base=100,latency=3000@0.5,429=0.3:2000,outage=5-45,5xx=0.1');
    expect(scaleFaultSpec(spec, 0.1)).toEqual({
      baseLatencyMs: 10,
      latency: { ms: 300, rate: 0.5 },
      throttle: { rate: 0.3, retryAfterMs: 200 },
      serverError: { rate: 0.1 },
      outage: { fromMs: 500, toMs: 4500 },
    });
  });
});

describe('hasFaults and answerFaultRate', () => {
  it.each<[string, boolean, number]>([
    ['', false, 0],
    ['base=100', false, 0],
    ['brownout', true, 0],
    ['outage=1-2', true, 0],
    ['429=0.3,5xx=0.2', true, 0.5],
  ])('%j → %s, %d', (text, faulty, rate) => {
    const spec = parseFaultSpec(text);
    expect(hasFaults(spec)).toBe(faulty);
    expect(answerFaultRate(spec)).toBeCloseTo(rate);
  });
});

describe('draw', () => {
  it('draws each fault at about its rate', () => {
    const spec = parseFaultSpec('429=0.3,5xx=0.2,truncated=0.1');
    const random = seededRandom(7);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 20_000; i += 1) {
      const outcome = draw(spec, random(), 0);
      counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
    expect(counts.throttled! / 20_000).toBeCloseTo(0.3, 1);
    expect(counts['server-error']! / 20_000).toBeCloseTo(0.2, 1);
    expect(counts.truncated! / 20_000).toBeCloseTo(0.1, 1);
    expect(counts.ok! / 20_000).toBeCloseTo(0.4, 1);
  });

  it('answers outage inside the window, whatever the draw', () => {
    const spec = parseFaultSpec('outage=1-2');
    expect(draw(spec, 0.99, 999)).toBe('ok');
    expect(draw(spec, 0.99, 1000)).toBe('outage');
    expect(draw(spec, 0.99, 1999)).toBe('outage');
    expect(draw(spec, 0.99, 2000)).toBe('ok');
  });
});

describe('degrade=TARGET:RATE (change safety)', () => {
  it('names one model (or a task@version prompt) and a rate; a Bedrock id keeps its own colons', () => {
    expect(parseFaultSpec('degrade=sim-candidate:0.5').degrade).toEqual({ target: 'sim-candidate', rate: 0.5 });
    expect(parseFaultSpec('degrade=ticket-triage@2:0.9').degrade).toEqual({ target: 'ticket-triage@2', rate: 0.9 });
    expect(parseFaultSpec('degrade=anthropic.claude-3-haiku-20240307-v1:0:0.25').degrade).toEqual({
      target: 'anthropic.claude-3-haiku-20240307-v1:0',
      rate: 0.25,
    });
  });

  it('is a fault (refused on a stage without fault injection) and does not count against the answer-fault total', () => {
    const spec = parseFaultSpec('schema=1,degrade=m:1');
    expect(hasFaults(parseFaultSpec('degrade=m:0.1'))).toBe(true);
    expect(spec.schema?.rate).toBe(1);
  });

  it.each(['degrade=0.5', 'degrade=m:1.5', 'degrade=:0.5'])('refuses %s', (text) => {
    expect(() => parseFaultSpec(text)).toThrow(FaultSpecError);
  });
});
