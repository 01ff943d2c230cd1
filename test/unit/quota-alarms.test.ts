/**
 * The quota's alarms and dashboard row (lib/observability/quota-alarms.ts) as the catalog includes them.
 */
import { describe, expect, it } from 'vitest';
import { buildAlarmCatalog } from '../../lib/observability/alarm-catalog';
import { loadStageConfig } from '../../lib/config/stage-load';
import { evaluateExpression } from '../../lib/observability/metric-math';

const withQuota = () => loadStageConfig('dev', { quotas: { models: { 'sim-primary': { rpm: 600 } } } } as never);

describe('quota alarms', () => {
  it('are absent without a quota for the primary model, and with pacing off', () => {
    const ids = (catalog: ReturnType<typeof buildAlarmCatalog>) => catalog.alarms.map((alarm) => alarm.id);
    expect(ids(buildAlarmCatalog(loadStageConfig('dev')))).not.toContain('model-at-quota');
    const off = loadStageConfig('dev', { quotas: { pacing: 'off', models: { 'sim-primary': { rpm: 600 } } } } as never);
    expect(ids(buildAlarmCatalog(off))).not.toContain('model-at-quota');
  });

  it('with a quota: two tickets, named by the catalog, and a dashboard row with the quota line', () => {
    const catalog = buildAlarmCatalog(withQuota());
    const atQuota = catalog.alarms.find((alarm) => alarm.id === 'model-at-quota');
    const age = catalog.alarms.find((alarm) => alarm.id === 'input-age-from-quota');
    expect(atQuota).toMatchObject({
      severity: 'ticket',
      evaluationPeriods: 15,
      datapointsToAlarm: 15,
      periodSeconds: 60,
      threshold: 90,
      name: `${catalog.alarmNamePrefix}model-at-quota`,
    });
    expect(age).toMatchObject({ severity: 'ticket', threshold: 1 });
    expect(catalog.composite.children).not.toContain('model-at-quota');
    const row = catalog.dashboard.find((r) => r.heading === 'Provider quota');
    expect(row?.graphs[0]?.thresholds).toEqual([
      { label: 'quota of sim-primary (600 RPM)', value: 600 },
      { label: 'model-at-quota (ticket)', value: 540 },
    ]);
  });

  it('model-at-quota reads calls per minute as a share of the quota', () => {
    const alarm = buildAlarmCatalog(withQuota()).alarms.find((a) => a.id === 'model-at-quota');
    if (alarm?.signal.kind !== 'math') throw new Error('expected a math signal');
    expect(evaluateExpression(alarm.signal.expression, { calls: 570 })).toBe(95);
    expect(evaluateExpression(alarm.signal.expression, {})).toBe(0);
  });

  it('input-age-from-quota needs both deferrals and an old queue', () => {
    const alarm = buildAlarmCatalog(withQuota()).alarms.find((a) => a.id === 'input-age-from-quota');
    if (alarm?.signal.kind !== 'math') throw new Error('expected a math signal');
    expect(evaluateExpression(alarm.signal.expression, { deferrals: 40, age: 900 })).toBe(1);
    expect(evaluateExpression(alarm.signal.expression, { deferrals: 0, age: 900 })).toBe(0);
    expect(evaluateExpression(alarm.signal.expression, { deferrals: 40, age: 10 })).toBe(0);
  });
});
