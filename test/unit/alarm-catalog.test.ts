import { describe, expect, it } from 'vitest';
import { ALARM_DIMENSIONS, DRIFT_MAX_FEATURE, DRIFT_SERVING_MIX_FEATURE, METRIC, METRIC_DIMENSION, METRICS_NAMESPACE } from '../../lambda/contract';
import { loadStageConfig } from '../../lib/config/stage-load';
import type { AlarmThresholds } from '../../lib/config/stage-types';
import { buildAlarmCatalog } from '../../lib/observability/alarm-catalog';
import { COMPOSITE_ALARM_ID } from '../../lib/observability/composite-alarm';
import type { AlarmCatalog, AlarmDefinition, MetricQuery } from '../../lib/observability/alarm-types';
import { evaluateExpression, math, METRIC_ID_PATTERN, metricIdsOf, renderExpression } from '../../lib/observability/metric-math';
import { ALARM_DESCRIPTION_MAX, alarmDescription } from '../../lib/observability/runbook';

const catalogs: Record<string, AlarmCatalog> = {
  dev: buildAlarmCatalog(loadStageConfig('dev')),
  prod: buildAlarmCatalog(loadStageConfig('prod')),
};

function queriesOf(alarm: AlarmDefinition): MetricQuery[] {
  return alarm.signal.kind === 'metric' ? [alarm.signal.metric] : Object.values(alarm.signal.metrics);
}

function everyQuery(catalog: AlarmCatalog): MetricQuery[] {
  return [...catalog.alarms.flatMap(queriesOf), ...catalog.dashboard.flatMap((row) => row.graphs.flatMap((graph) => graph.left))];
}

function alarm(catalog: AlarmCatalog, id: string): AlarmDefinition {
  const found = catalog.alarms.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no alarm ${id}`);
  return found;
}

describe.each(Object.keys(catalogs))('alarm catalog (%s)', (stage) => {
  const catalog = catalogs[stage] as AlarmCatalog;

  it('uses only metric names of the contract (METRIC), in its namespace', () => {
    const known = new Set<string>(Object.values(METRIC));
    const pipelineQueries = everyQuery(catalog).filter((query) => query.source.kind === 'pipeline');
    expect(pipelineQueries.length).toBeGreaterThan(20);
    for (const { source } of pipelineQueries) {
      if (source.kind !== 'pipeline') continue;
      expect(known.has(source.name), `${source.name} is not a METRIC name`).toBe(true);
      expect(source.namespace).toBe(METRICS_NAMESPACE);
    }
  });

  it('reads the pipeline metrics under exactly the alarm dimension set (service, stage), drift adding feature=max', () => {
    for (const { source } of everyQuery(catalog)) {
      if (source.kind !== 'pipeline') continue;
      // The canary alarm compares variants: it reads the per-variant set (published besides the alarm set).
      const variant = ([METRIC.VARIANT_RECORDS, METRIC.VARIANT_FALLBACKS, METRIC.VARIANT_VALIDATION_FAILURES, METRIC.VARIANT_LATENCY] as string[]).includes(
        source.name,
      );
      const expected =
        source.name === METRIC.DRIFT_SCORE
          ? [...ALARM_DIMENSIONS, METRIC_DIMENSION.FEATURE]
          : variant
            ? [...ALARM_DIMENSIONS, METRIC_DIMENSION.VARIANT]
            : [...ALARM_DIMENSIONS];
      expect(Object.keys(source.dimensions).sort(), source.name).toEqual(expected.sort());
      expect(source.dimensions[METRIC_DIMENSION.STAGE]).toBe(stage);
      if (source.name === METRIC.DRIFT_SCORE) expect([DRIFT_MAX_FEATURE, DRIFT_SERVING_MIX_FEATURE]).toContain(source.dimensions[METRIC_DIMENSION.FEATURE]);
    }
  });

  it("gives every math alarm valid metric ids, each used by the expression, at most 10 (CloudWatch's limit)", () => {
    const mathAlarms = catalog.alarms.filter((candidate) => candidate.signal.kind === 'math');
    expect(mathAlarms.map((candidate) => candidate.id)).toEqual(
      expect.arrayContaining([
        'processor-silent',
        'model-error-rate',
        'validation-failure-rate',
        'fallback-rate',
        'dynamodb-throttles',
        'dynamodb-system-errors',
      ]),
    );
    for (const { id, signal } of mathAlarms) {
      if (signal.kind !== 'math') continue;
      const declared = Object.keys(signal.metrics);
      expect(declared.length, id).toBeLessThanOrEqual(10);
      for (const metricId of declared) expect(metricId, id).toMatch(METRIC_ID_PATTERN);
      expect(metricIdsOf(signal.expression).sort(), id).toEqual([...declared].sort());
    }
  });

  it('names every alarm <stack>-<id> with a unique kebab-case id', () => {
    const ids = catalog.alarms.map((candidate) => candidate.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const candidate of [...catalog.alarms, catalog.composite]) {
      expect(candidate.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(candidate.name).toBe(`AiPipeline-${stage}-${candidate.id}`);
    }
  });

  it('covers every alarm the issue lists, with the severity the issue gives where it gives one', () => {
    // The budget alarms exist only where a budget is set (test/infra/alarm-reachability.test.ts).
    const budgeted = buildAlarmCatalog(loadStageConfig(stage, { budget: { tokensPerHour: 1_000_000 } }));
    const severities = Object.fromEntries(budgeted.alarms.map((candidate) => [candidate.id, candidate.severity]));
    expect(severities).toMatchObject({
      'dlq-has-messages': 'ticket',
      'input-age-over-sla': 'page',
      'processor-errors': 'page',
      'processor-throttles': 'ticket',
      'model-error-rate': 'page',
      'model-latency-p99': 'ticket',
      'validation-failure-rate': 'ticket',
      'fallback-rate': 'ticket',
      'review-backlog-age': 'ticket',
      'breaker-open': 'ticket',
      'budget-warning': 'ticket',
      'budget-exhausted': 'page',
      'processor-silent': 'page',
      'dynamodb-throttles': 'ticket',
      'dynamodb-system-errors': 'ticket',
      'incomplete-job': 'page',
      'drift-warning': 'ticket',
      'drift-critical': 'page',
    });
    expect(alarm(catalog, 'model-latency-p99').signal).toMatchObject({ kind: 'metric', metric: { statistic: 'p99' } });
  });

  it('feeds exactly the paging alarms into the composite alarm', () => {
    expect(catalog.composite.id).toBe(COMPOSITE_ALARM_ID);
    expect(catalog.composite.severity).toBe('page');
    expect([...catalog.composite.children].sort()).toEqual(
      catalog.alarms
        .filter((candidate) => candidate.severity === 'page')
        .map((candidate) => candidate.id)
        .sort(),
    );
  });

  it("keeps every description within CloudWatch's limit and linking its runbook section", () => {
    for (const candidate of [...catalog.alarms, catalog.composite]) {
      const description = alarmDescription(catalog, candidate);
      expect(description.length).toBeLessThanOrEqual(ALARM_DESCRIPTION_MAX);
      expect(description).toContain(`${catalog.runbookBaseUrl}#${candidate.id}`);
      expect(description).toContain(`pipectl runbook ${candidate.id}`);
    }
  });

  it('draws the dashboard thresholds from the alarms themselves', () => {
    const lines = catalog.dashboard.flatMap((row) => row.graphs.flatMap((graph) => graph.thresholds ?? []));
    expect(lines).toContainEqual({ label: 'input-age-over-sla (page)', value: alarm(catalog, 'input-age-over-sla').threshold });
    expect(lines).toContainEqual({ label: 'drift-critical (page)', value: alarm(catalog, 'drift-critical').threshold });
  });
});

describe('alarm thresholds come from the stage config', () => {
  it('uses the defaults the issue names: drift 0.1 ticket / 0.25 page, incomplete job > 0 pages', () => {
    const catalog = catalogs.dev as AlarmCatalog;
    expect(alarm(catalog, 'drift-warning')).toMatchObject({ threshold: 0.1, comparison: 'GreaterThanOrEqualToThreshold', severity: 'ticket' });
    expect(alarm(catalog, 'drift-critical')).toMatchObject({ threshold: 0.25, comparison: 'GreaterThanOrEqualToThreshold', severity: 'page' });
    expect(alarm(catalog, 'incomplete-job')).toMatchObject({ threshold: 0, comparison: 'GreaterThanThreshold', severity: 'page' });
  });

  it('differs between stages where the stages differ (prod pages sooner)', () => {
    expect(alarm(catalogs.prod as AlarmCatalog, 'input-age-over-sla').threshold).toBe(600);
    expect(alarm(catalogs.dev as AlarmCatalog, 'input-age-over-sla').threshold).toBe(900);
  });

  // Every threshold key, with a value no default has, and the alarm that must carry it.
  const overrides: ReadonlyArray<readonly [keyof AlarmThresholds, number, string, 'threshold' | 'evaluationPeriods']> = [
    ['inputAgeSlaSeconds', 1234, 'input-age-over-sla', 'threshold'],
    ['dlqMessages', 7, 'dlq-has-messages', 'threshold'],
    ['processorErrorsPerMinute', 3, 'processor-errors', 'threshold'],
    ['processorThrottlesPerMinute', 4, 'processor-throttles', 'threshold'],
    ['modelErrorRatePercent', 33, 'model-error-rate', 'threshold'],
    ['modelLatencyP99Ms', 4321, 'model-latency-p99', 'threshold'],
    ['validationFailureRatePercent', 17, 'validation-failure-rate', 'threshold'],
    ['fallbackRatePercent', 41, 'fallback-rate', 'threshold'],
    ['reviewBacklogAgeSeconds', 777, 'review-backlog-age', 'threshold'],
    ['breakerOpenMinutes', 7, 'breaker-open', 'evaluationPeriods'],
    ['budgetWarnPercent', 70, 'budget-warning', 'threshold'],
    ['budgetExhaustedPercent', 95, 'budget-exhausted', 'threshold'],
    ['processorSilentMinutes', 9, 'processor-silent', 'evaluationPeriods'],
    ['dynamodbThrottlesPerMinute', 5, 'dynamodb-throttles', 'threshold'],
    ['dynamodbSystemErrorsPerMinute', 6, 'dynamodb-system-errors', 'threshold'],
    ['incompleteJobItems', 2, 'incomplete-job', 'threshold'],
    ['driftTicket', 0.15, 'drift-warning', 'threshold'],
    ['driftPage', 0.35, 'drift-critical', 'threshold'],
  ];

  it('has a row below for every threshold key of the config', () => {
    expect(overrides.map(([key]) => key).sort()).toEqual(
      Object.keys(loadStageConfig('dev').observability.alarms)
        .filter((key) => key !== 'rateMinimumSamples')
        .sort(),
    );
  });

  it.each(overrides)('%s = %s reaches %s (%s)', (key, value, id, field) => {
    // Act
    const catalog = buildAlarmCatalog(loadStageConfig('dev', { observability: { alarms: { [key]: value } }, budget: { usdPerHour: 10 } }));

    // Assess
    expect(alarm(catalog, id)[field]).toBe(value);
  });

  it('keeps the model error-rate alarm breaching while the breaker refuses calls (no false all-clear mid-outage)', () => {
    const { signal, threshold } = alarm(catalogs.dev as AlarmCatalog, 'model-error-rate');
    if (signal.kind !== 'math') throw new Error('model-error-rate is metric math');
    // The breaker is open: 2 probe calls (both failed) and 40 refused attempts in the minute.
    expect(evaluateExpression(signal.expression, { calls: 2, errors: 2, refused: 40 })).toBe(100);
    // Recovered: 50 calls, 1 error, nothing refused.
    expect(evaluateExpression(signal.expression, { calls: 50, errors: 1, refused: undefined })).toBe(2);
    expect(100).toBeGreaterThanOrEqual(threshold);
    expect(2).toBeLessThan(threshold);
  });

  it('puts rateMinimumSamples into every rate expression', () => {
    const catalog = buildAlarmCatalog(loadStageConfig('dev', { observability: { alarms: { rateMinimumSamples: 37 } } }));
    for (const id of ['model-error-rate', 'validation-failure-rate', 'fallback-rate']) {
      const { signal } = alarm(catalog, id);
      expect(signal.kind === 'math' && renderExpression(signal.expression), id).toContain('>= 37');
    }
  });
});

describe('metric math', () => {
  const rate = math.if(math.compare(math.fill('calls'), '>=', 10), math.divide(math.multiply(100, math.fill('errors')), 'calls'), 0);
  const silent = math.if(math.and(math.compare('visible', '>=', 1), math.compare(math.add(math.fill('completed'), math.fill('rejected')), '==', 0)), 1, 0);

  it.each([
    { name: 'rate', expression: rate, text: 'IF(FILL(calls, 0) >= 10, 100 * FILL(errors, 0) / calls, 0)' },
    { name: 'silent', expression: silent, text: 'IF((visible >= 1) AND (FILL(completed, 0) + FILL(rejected, 0) == 0), 1, 0)' },
    {
      name: 'a - (b - c)',
      expression: { op: '-', left: math.metric('a'), right: { op: '-', left: math.metric('b'), right: math.metric('c') } },
      text: 'a - (b - c)',
    },
    { name: '(a + b) * c', expression: math.multiply(math.add('a', 'b'), 'c'), text: '(a + b) * c' },
  ] as const)('renders $name as CloudWatch expects', ({ expression, text }) => {
    expect(renderExpression(expression)).toBe(text);
  });

  it.each([
    { values: { calls: 20, errors: 18 }, expected: 90 },
    { values: { calls: 20, errors: undefined }, expected: 0 }, // no errors published: FILL makes it 0
    { values: { calls: 9, errors: 9 }, expected: 0 }, // below the minimum number of calls
    { values: { calls: undefined, errors: 3 }, expected: 0 },
    { values: { calls: 10, errors: 1 }, expected: 10 },
  ])('rate over $values is $expected', ({ values, expected }) => {
    expect(evaluateExpression(rate, values)).toBe(expected);
  });

  it.each([
    { values: { visible: 5, completed: undefined, rejected: undefined }, expected: 1 },
    { values: { visible: 5, completed: 1, rejected: undefined }, expected: 0 },
    { values: { visible: 0, completed: undefined, rejected: undefined }, expected: 0 },
    // An idle queue reports nothing: the AND's missing side counts as 0 (false) between two series, so 0.
    { values: { visible: undefined, completed: undefined, rejected: undefined }, expected: 0 },
  ])('silent over $values is $expected', ({ values, expected }) => {
    expect(evaluateExpression(silent, values)).toBe(expected);
  });

  it('treats a missing operand as 0 beside a present one ("Using metric math": missing values are treated as 0), and drops division by zero', () => {
    expect(evaluateExpression(math.add('a', 'b'), { a: 1, b: undefined })).toBe(1);
    expect(evaluateExpression(math.add('a', 'b'), { a: undefined, b: undefined })).toBeUndefined();
    expect(evaluateExpression(math.divide('a', 'b'), { a: 1, b: 0 })).toBeUndefined();
  });
});
