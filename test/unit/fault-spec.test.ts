import { describe, expect, it } from 'vitest';
import {
  answerFaultRate,
  FAULT_PROFILES,
  FaultSpecError,
  hasFaults,
  modelFaultWindow,
  parseFaultSpec,
  scaleFaultSpec,
} from '../../local/model-simulator/fault-spec';
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

describe('fault windows: RATE/FROM-TO', () => {
  const w = (fromS: number, toS: number) => ({ fromMs: fromS * 1000, toMs: toS * 1000 });

  it.each<[string, object]>([
    ['5xx=0.9/30-150', { serverError: { rate: 0.9, window: w(30, 150) } }],
    ['429=0.8:2000/30-150', { throttle: { rate: 0.8, retryAfterMs: 2000, window: w(30, 150) } }],
    ['429=0.8/30-150', { throttle: { rate: 0.8, window: w(30, 150) } }],
    ['latency=3000@0.6/30-150', { latency: { ms: 3000, rate: 0.6, window: w(30, 150) } }],
    ['malformed=0.5/1.5s-3s', { malformed: { rate: 0.5, window: { fromMs: 1500, toMs: 3000 } } }],
    ['schema=0.5/500ms-4500ms', { schema: { rate: 0.5, window: { fromMs: 500, toMs: 4500 } } }],
    ['truncated=0.5/0-10', { truncated: { rate: 0.5, window: w(0, 10) } }],
    ['hang=0.1/5-6', { hang: { rate: 0.1, window: w(5, 6) } }],
    ['quota=1/5-6', { quota: { rate: 1, window: w(5, 6) } }],
    ['degrade=sim-primary:0.5/30-150', { degrade: { target: 'sim-primary', rate: 0.5, window: w(30, 150) } }],
    ['degrade=ticket-triage@2:0.5/30-150', { degrade: { target: 'ticket-triage@2', rate: 0.5, window: w(30, 150) } }],
  ])('%s', (text, expected) => {
    expect(parseFaultSpec(text)).toMatchObject(expected);
  });

  it('without a suffix an item has no window (it lasts the whole run)', () => {
    expect(parseFaultSpec('5xx=0.9').serverError).toEqual({ rate: 0.9 });
  });

  it("strips only a suffix shaped like a window: a degrade target's own '/' stays in the target", () => {
    const arn = 'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0';
    expect(parseFaultSpec(`degrade=${arn}:0.5`).degrade).toEqual({ target: arn, rate: 0.5 });
    expect(parseFaultSpec(`degrade=${arn}:0.5/30-150`).degrade).toEqual({ target: arn, rate: 0.5, window: w(30, 150) });
    expect(parseFaultSpec('degrade=team/1-2:0.5').degrade).toEqual({ target: 'team/1-2', rate: 0.5 });
  });

  it.each<[string, RegExp]>([
    ['5xx=0.9/150-30', /5xx=0\.9\/150-30: the end must come after the start \(a window is \/FROM-TO/],
    ['5xx=0.9/30-30', /the end must come after the start/],
    ['5xx=0.9/30-', /5xx=0\.9\/30-: the rate must be a fraction from 0 to 1, e.g. 5xx=0\.2 \(or 5xx=0\.2\/30-150/],
    ['5xx=0.9/soon', /the rate must be a fraction/],
    ['latency=3000/30-150', /latency=3000\/30-150: expected MS@RATE\[\/FROM-TO\]/],
    ['base=100/1-2', /base=100\/1-2: only an item with a RATE takes a \/FROM-TO window/],
    ['outage=5-45/1-2', /outage=5-45\/1-2: only an item with a RATE/],
    ['rpm=600/1-2', /only an item with a RATE/],
    ['429=0.6/0-10,5xx=0.6/20-30', /add up to 1.2, more than 1/],
  ])('refuses %j, saying why', (text, message) => {
    expect(() => parseFaultSpec(text)).toThrow(FaultSpecError);
    expect(() => parseFaultSpec(text)).toThrow(message);
  });

  it('a windowed fault is a fault', () => {
    expect(hasFaults(parseFaultSpec('5xx=0.9/30-150'))).toBe(true);
    expect(answerFaultRate(parseFaultSpec('5xx=0.9/30-150,429=0.1'))).toBeCloseTo(1);
  });

  it('scaleFaultSpec scales every window with the time scale, like outage', () => {
    const spec = parseFaultSpec('5xx=0.5/30-150,429=0.2:2000/10-20,latency=3000@0.6/30-150,degrade=m:0.5/1-2,schema=0.1');
    expect(scaleFaultSpec(spec, 0.1)).toMatchObject({
      serverError: { rate: 0.5, window: w(3, 15) },
      throttle: { rate: 0.2, retryAfterMs: 200, window: w(1, 2) },
      latency: { ms: 300, rate: 0.6, window: w(3, 15) },
      degrade: { target: 'm', rate: 0.5, window: { fromMs: 100, toMs: 200 } },
      schema: { rate: 0.1 },
    });
    expect(scaleFaultSpec(spec, 0.1).schema).not.toHaveProperty('window');
  });

  describe('modelFaultWindow', () => {
    it.each<[string, object | undefined]>([
      ['', undefined],
      ['base=100,rpm=600', undefined],
      ['outage=30-150', w(30, 150)],
      ['5xx=0.9/30-150', w(30, 150)],
      ['5xx=0.9/30-150,latency=3000@0.6/20-60,outage=100-200', w(20, 200)],
      ['degrade=m:0.5/5-10,schema=0.2/40-50', w(5, 50)],
      ['outage=30-150,429=0.1', undefined],
      ['5xx=0.9/30-150,latency=3000@0.5', undefined],
      ['5xx=0.9/30-150,429=0', w(30, 150)],
      ['5xx=0.9/30-150,rpm=600,base=100', w(30, 150)],
      ['5xx=0.9/30-150,crash=0.5', w(30, 150)],
    ])('%j → %j', (text, expected) => {
      expect(modelFaultWindow(parseFaultSpec(text))).toEqual(expected);
    });

    it('of a scaled spec is in local time', () => {
      expect(modelFaultWindow(scaleFaultSpec(parseFaultSpec('5xx=0.9/30-150'), 0.1))).toEqual(w(3, 15));
    });
  });

  describe('draw', () => {
    it.each<[number, string]>([
      [29_999, 'ok'],
      [30_000, 'server-error'],
      [149_999, 'server-error'],
      [150_000, 'ok'],
    ])('5xx=1/30-150 at %d ms → %s', (elapsedMs, outcome) => {
      expect(draw(parseFaultSpec('5xx=1/30-150'), 0.5, elapsedMs)).toBe(outcome);
    });

    it('outside its window a fault has a band of width 0: the next band takes its place', () => {
      const spec = parseFaultSpec('429=0.5/10-20,5xx=0.5');
      // Inside: [0, 0.5) throttled, [0.5, 1) server error. Outside: [0, 0.5) server error, the rest ok.
      expect(draw(spec, 0.2, 15_000)).toBe('throttled');
      expect(draw(spec, 0.7, 15_000)).toBe('server-error');
      expect(draw(spec, 0.2, 5_000)).toBe('server-error');
      expect(draw(spec, 0.7, 5_000)).toBe('ok');
      expect(draw(spec, 0.2, 25_000)).toBe('server-error');
    });

    it('is the same for the same draw and time (seeded runs stay reproducible)', () => {
      const spec = parseFaultSpec('429=0.3/1-2,5xx=0.2,truncated=0.1/0-5');
      const run = () => {
        const random = seededRandom(11);
        return Array.from({ length: 200 }, (_, i) => draw(spec, random(), i * 30));
      };
      expect(run()).toEqual(run());
      expect(run()).toContain('throttled');
    });
  });
});
