/**
 * On-call that cannot go silent (issue 13), on the synthesized templates: who each alarm notifies,
 * what watches the scheduled monitors, what a production stage refuses to synthesize without.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC, METRIC_DIMENSION } from '../../lambda/contract';
import { loadStageConfig, StageConfigError } from '../../lib/config/stage-load';
import { buildAlarmCatalog } from '../../lib/observability/alarm-catalog';
import { logicalIdOf, type SynthesizedStage, synthStage } from './synth-stage';

type Resource = { Type: string; Properties: Record<string, any> };

function resourcesOfType(synth: SynthesizedStage, type: string): Array<[string, Resource]> {
  return Object.entries(synth.templateJson.Resources as Record<string, Resource>).filter(([, resource]) => resource.Type === type);
}

function alarmNamed(synth: SynthesizedStage, name: string): Resource {
  const found = resourcesOfType(synth, 'AWS::CloudWatch::Alarm').find(([, resource]) => resource.Properties.AlarmName === name);
  if (!found) throw new Error(`no alarm ${name}`);
  return found[1];
}

/** The metric of a single-metric alarm, whether CDK wrote it inline or as a one-entry `Metrics` list (it does so when the metric has a label). */
function metricOf(alarm: Resource): { Namespace: string; MetricName: string; Dimensions: unknown[]; Period: number } {
  const { Properties } = alarm;
  if (Properties.MetricName) return Properties as never;
  const stat = Properties.Metrics?.[0]?.MetricStat;
  if (!stat) throw new Error('not a single-metric alarm');
  return { ...stat.Metric, Period: stat.Period };
}

const stages: Record<string, SynthesizedStage> = {};

beforeAll(() => {
  stages.dev = synthStage('dev');
  stages.prod = synthStage('prod');
});

afterAll(() => {
  for (const synth of Object.values(stages)) synth.dispose();
});

describe("paging (CloudWatch runs an alarm's actions on a state transition only)", () => {
  it.each(['dev', 'prod'])('%s: every paging alarm notifies the page topic itself, on ALARM and on OK; tickets go to the ticket topic', (stage) => {
    const synth = stages[stage] as SynthesizedStage;
    const page = { Ref: logicalIdOf(synth, synth.stack.observability.pageTopic) };
    const ticket = { Ref: logicalIdOf(synth, synth.stack.observability.ticketTopic) };
    const { catalog } = synth.stack.observability;
    expect(catalog.alarms.filter((alarm) => alarm.severity === 'page').length).toBeGreaterThan(3);
    for (const alarm of catalog.alarms) {
      const { Properties } = alarmNamed(synth, alarm.name);
      const expected = alarm.severity === 'page' ? [page, ticket] : [ticket];
      expect(Properties.AlarmActions, alarm.id).toEqual(expected);
      expect(Properties.OKActions, alarm.id).toEqual(expected);
    }
  });

  it('keeps the composite for the dashboard, without actions: it would page only on its own first transition', () => {
    const synth = stages.dev as SynthesizedStage;
    const [[, composite]] = resourcesOfType(synth, 'AWS::CloudWatch::CompositeAlarm') as [[string, Resource]];
    expect(composite.Properties.AlarmActions ?? []).toEqual([]);
    expect(composite.Properties.OKActions ?? []).toEqual([]);
  });

  it('drift alarms treat missing data as missing (INSUFFICIENT_DATA on quiet traffic), over at least one drift run', () => {
    const synth = stages.dev as SynthesizedStage;
    for (const id of ['drift-warning', 'drift-critical']) {
      const alarm = alarmNamed(synth, `AiPipeline-dev-${id}`);
      expect(alarm.Properties.TreatMissingData, id).toBe('missing');
      expect(metricOf(alarm).Period, id).toBeGreaterThanOrEqual(synth.config.drift.scheduleMinutes * 60);
    }
  });
});

describe('human review', () => {
  it('alarms on the review DLQ', () => {
    const synth = stages.dev as SynthesizedStage;
    const reviewDlq = logicalIdOf(synth, synth.stack.reviewQueue.deadLetterQueue);
    const metric = metricOf(alarmNamed(synth, 'AiPipeline-dev-review-dlq-has-messages'));
    expect(metric.Namespace).toBe('AWS/SQS');
    expect(metric.MetricName).toBe('ApproximateNumberOfMessagesVisible');
    expect(JSON.stringify(metric.Dimensions)).toContain(reviewDlq);
  });
});

describe('scheduled monitors are watched', () => {
  it.each(['reconciler', 'drift-monitor'])('%s: a heartbeat alarm (missing heartbeat is breaching), and alarms on its errors and throttles', (monitor) => {
    const synth = stages.dev as SynthesizedStage;
    const heartbeat = alarmNamed(synth, `AiPipeline-dev-${monitor}-heartbeat`);
    const beats = heartbeat.Properties.Metrics.find((query: any) => query.MetricStat).MetricStat;
    expect(beats.Metric.MetricName).toBe(METRIC.MONITOR_HEARTBEAT);
    expect(heartbeat.Properties.Metrics.find((query: any) => query.Expression).Expression).toBe('FILL(beats, 0)');
    expect(heartbeat.Properties.TreatMissingData).toBe('breaching');
    expect(heartbeat.Properties.ComparisonOperator).toBe('LessThanThreshold');
    expect(beats.Metric.Dimensions).toEqual(expect.arrayContaining([{ Name: METRIC_DIMENSION.SERVICE, Value: monitor }]));
    const fn = monitor === 'reconciler' ? synth.stack.monitors.reconciler : synth.stack.monitors.driftMonitor;
    for (const [suffix, metric] of [
      ['errors', 'Errors'],
      ['throttles', 'Throttles'],
    ] as const) {
      const found = metricOf(alarmNamed(synth, `AiPipeline-dev-${monitor}-${suffix}`));
      expect(found.Namespace).toBe('AWS/Lambda');
      expect(found.MetricName).toBe(metric);
      expect(found.Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: logicalIdOf(synth, fn) } }]);
    }
  });

  it('the incomplete-job alarm no longer ignores missing data: the heartbeat tells a stopped reconciler from a quiet one', () => {
    const synth = stages.dev as SynthesizedStage;
    expect(alarmNamed(synth, 'AiPipeline-dev-incomplete-job').Properties.TreatMissingData).not.toBe('ignore');
  });
});

describe('page targets', () => {
  it('a production stage without a page target does not synthesize, and says what to set', () => {
    // dev made production: it has no page target (its escalation owner is set, so only the page is missing).
    const asProduction = { production: true, allowFaultInjection: false, observability: { escalation: { owner: 'ml-platform-oncall' } } } as const;
    expect(() => loadStageConfig('dev', asProduction)).toThrow(StageConfigError);
    try {
      loadStageConfig('dev', asProduction);
    } catch (error) {
      expect((error as StageConfigError).issues.join('\n')).toMatch(/observability\.page: .*production.*emails.*httpsEndpoints.*none/);
    }
    expect(() =>
      loadStageConfig('dev', { ...asProduction, observability: { ...asProduction.observability, page: { emails: ['oncall@example.com'] } } }),
    ).not.toThrow();
  });

  it('refuses `none` together with a target (which one is meant?)', () => {
    expect(() => loadStageConfig('prod', { observability: { page: { emails: ['oncall@example.com'] } } })).toThrow(
      /observability\.page\.none: .*remove one or the other/,
    );
  });

  it('accepts an email, an https endpoint, or an explicit none with a reason', () => {
    const escalation = { owner: 'ml-platform-oncall' };
    const asProduction = { production: true, allowFaultInjection: false } as const;
    expect(
      loadStageConfig('dev', { ...asProduction, observability: { escalation, page: { emails: ['oncall@example.com'] } } }).observability.page.emails,
    ).toEqual(['oncall@example.com']);
    expect(
      loadStageConfig('dev', {
        ...asProduction,
        observability: { escalation, page: { httpsEndpoints: ['https://events.pagerduty.com/integration/k/enqueue'] } },
      }).observability.page.httpsEndpoints,
    ).toHaveLength(1);
    expect(loadStageConfig('prod', { observability: { page: { none: "paged by the platform team's own CloudWatch rules" } } }).observability.page.none).toMatch(
      /platform/,
    );
    expect(() => loadStageConfig('prod', { observability: { page: { none: '' } } })).toThrow(StageConfigError);
  });
});

describe('escalation owner', () => {
  it('a production stage without an escalation owner does not synthesize, and says what to set', () => {
    // Prepare: dev made production, with a page target but no owner.
    const withoutOwner = { production: true, allowFaultInjection: false, observability: { page: { emails: ['oncall@example.com'] } } };

    // Act / Assess
    expect(() => loadStageConfig('dev', withoutOwner)).toThrow(/observability\.escalation\.owner: a production stage must name/);
  });

  it('a stage that is not production may leave it out, and prod names one', () => {
    expect(loadStageConfig('dev').observability.escalation.owner).toBeUndefined();
    expect(loadStageConfig('prod').observability.escalation.owner).toMatch(/\S/);
  });
});

describe('runbook links', () => {
  it('every stage links an absolute https runbook address', () => {
    for (const stage of ['dev', 'prod']) expect(loadStageConfig(stage).observability.runbookBaseUrl, stage).toMatch(/^https:\/\//);
  });

  it('a production stage with a relative runbook address does not synthesize', () => {
    expect(() => loadStageConfig('prod', { observability: { runbookBaseUrl: 'RUNBOOK.md' } })).toThrow(/runbookBaseUrl: .*https/);
  });
});

describe('serviceName', () => {
  it("names the processor's service dimension, and the alarms match it", () => {
    const catalog = buildAlarmCatalog(loadStageConfig('dev', { serviceName: 'ticket-pipeline' }));
    const errors = catalog.alarms.find((alarm) => alarm.id === 'model-error-rate');
    if (errors?.signal.kind !== 'math') throw new Error('model-error-rate is a math alarm');
    const source = errors.signal.metrics.errors?.source;
    expect(source?.kind === 'pipeline' && source.dimensions[METRIC_DIMENSION.SERVICE]).toBe('ticket-pipeline');
  });
});
