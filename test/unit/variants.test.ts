import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { METRIC } from '../../lambda/contract';
import { BatchMetrics } from '../../lambda/processor/batch-metrics';
import { recordVariantMetrics, routeRecord, variantOf } from '../../lambda/processor/variants';
import { RuntimeSwitches, toSwitchSet } from '../../lambda/resilience/runtime-switches';

const keys = Array.from({ length: 20_000 }, (_, index) => createHash('sha256').update(`input ${index}`).digest('hex'));
const CONFIGURED = { primaryModelId: 'model-a', secondaryModelId: 'model-b' };

describe('the canary split', () => {
  it('sends about the asked share of keys to the canary', () => {
    const canary = keys.filter((key) => variantOf(key, 10) === 'canary').length / keys.length;
    // 20,000 keys: the standard error of a 10% share is 0.2%; 1% is five of them.
    expect(canary).toBeGreaterThan(0.09);
    expect(canary).toBeLessThan(0.11);
  });

  it('puts a key on the same variant every time, and raising the share never moves a key back', () => {
    for (const key of keys.slice(0, 2000)) {
      expect(variantOf(key, 10)).toBe(variantOf(key, 10));
      if (variantOf(key, 10) === 'canary') expect(variantOf(key, 25)).toBe('canary');
    }
  });

  it.each([
    [0, 'baseline'],
    [100, 'canary'],
  ])('at %i%% every key is %s', (percent, variant) => {
    expect(new Set(keys.slice(0, 500).map((key) => variantOf(key, percent)))).toEqual(new Set([variant]));
  });
});

describe('routeRecord', () => {
  const tiers = ['primary', 'secondary', 'rules', 'human'] as const;

  it('a canary key gets the candidate as its primary; the secondary stays', () => {
    const switches = toSwitchSet({ 'canary.percent': '100', 'canary.model': 'model-c' }, 1);
    const route = routeRecord(switches, 'ticket-triage', keys[0]!, tiers);
    expect(route.variant).toBe('canary');
    expect(route.modelFor('primary', CONFIGURED)).toBe('model-c');
    expect(route.modelFor('secondary', CONFIGURED)).toBe('model-b');
  });

  it('a canary of a task version gives that version to canary keys of that task only; the model stays', () => {
    const switches = toSwitchSet({ 'canary.percent': '100', 'canary.version': 'ticket-triage@2' }, 1);
    const route = routeRecord(switches, 'ticket-triage', keys[0]!, tiers);
    expect(route).toMatchObject({ variant: 'canary', promptVersion: '2' });
    expect(route.modelFor('primary', CONFIGURED)).toBe('model-a');
    expect(routeRecord(switches, 'other-task', keys[0]!, tiers).promptVersion).toBeUndefined();
    const atTen = toSwitchSet({ 'canary.percent': '10', 'canary.version': 'ticket-triage@2' }, 1);
    for (const key of keys.slice(0, 500)) {
      const routed = routeRecord(atTen, 'ticket-triage', key, tiers);
      expect(routed.promptVersion).toBe(routed.variant === 'canary' ? '2' : undefined);
    }
  });

  it('tier-off drops that tier; force-rules drops both model tiers of that task only', () => {
    const switches = toSwitchSet({ 'tier-off.primary': 'true', 'force-rules.other-task': 'true' }, 1);
    expect(routeRecord(switches, 'ticket-triage', keys[0]!, tiers).tiers).toEqual(['secondary', 'rules', 'human']);
    const forced = routeRecord(switches, 'other-task', keys[0]!, tiers);
    expect(forced.tiers).toEqual(['rules', 'human']);
    expect(forced.notes.map((note) => note.reason)).toContain('runtime switch force-rules.other-task');
  });

  it('no switches: the policy as configured, baseline', () => {
    const route = routeRecord(undefined, 'ticket-triage', keys[0]!, tiers);
    expect(route).toMatchObject({ variant: 'baseline', tiers, notes: [] });
    expect(route.modelFor('primary', CONFIGURED)).toBe('model-a');
  });
});

describe('recordVariantMetrics', () => {
  const published = (metrics: BatchMetrics) => {
    const lines: string[] = [];
    const sink = {
      addDimensions: (dimensions: Record<string, string>) => lines.push(`dims ${JSON.stringify(dimensions)}`),
      addMetric: (name: string, _unit: string, value: number) => lines.push(`${name}=${value}`),
      publishStoredMetrics: () => lines.push('flush'),
    };
    metrics.publish(sink as never);
    return lines;
  };

  it('counts under the variant while a canary runs, and nothing without one', async () => {
    const running = new RuntimeSwitches({ read: async () => toSwitchSet({ 'canary.percent': '10', 'canary.model': 'model-c' }, 1) });
    await running.refresh();
    const metrics = new BatchMetrics();
    recordVariantMetrics(metrics, running, {
      variant: 'canary',
      tier: 'secondary',
      latencyMs: 40,
      notes: [{ tier: 'primary', reason: 'invalid', errorClass: 'InvalidModelOutputError' }],
    });
    const lines = published(metrics);
    expect(lines).toContain('dims {"variant":"canary"}');
    expect(lines).toEqual(
      expect.arrayContaining([
        `${METRIC.VARIANT_RECORDS}=1`,
        `${METRIC.VARIANT_FALLBACKS}=1`,
        `${METRIC.VARIANT_VALIDATION_FAILURES}=1`,
        `${METRIC.VARIANT_LATENCY}=40`,
      ]),
    );

    const idle = new RuntimeSwitches({ read: async () => toSwitchSet({}, 1) });
    await idle.refresh();
    const none = new BatchMetrics();
    recordVariantMetrics(none, idle, { variant: 'baseline', tier: 'primary', latencyMs: 10, notes: [] });
    expect(published(none)).toEqual([]);
  });
});
