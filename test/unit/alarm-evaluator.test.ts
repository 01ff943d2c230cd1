import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRIC, METRIC_DIMENSION, METRIC_SERVICE, METRICS_NAMESPACE } from '../../lambda/contract';
import { loadStageConfig } from '../../lib/config/stage-load';
import { buildAlarmCatalog } from '../../lib/observability/alarm-catalog';
import type { AlarmCatalog, TreatMissingData } from '../../lib/observability/alarm-types';
import { LocalAlarmEvaluator, type LocalAlarmState } from '../../local/alarm-evaluator';
import { type AlarmStateValue, computeStatistic, type DatapointClass, evaluateAlarmState, isBreaching } from '../../local/alarm-rules';
import { firedAlarmLines } from '../../local/alarm-summary';
import { LogSink } from '../../local/log-sink';

/** `0 - X - X` (oldest first, as the CloudWatch documentation writes it) → classes. */
function range(text: string): DatapointClass[] {
  return text.split(' ').map((symbol) => {
    if (symbol === '0') return 'ok';
    if (symbol === 'X') return 'breaching';
    if (symbol === '-') return 'missing';
    throw new Error(`bad symbol ${symbol}`);
  });
}

const TREATMENTS: readonly TreatMissingData[] = ['missing', 'ignore', 'breaching', 'notBreaching'];
/** `retain` in the documentation's tables: the state before the evaluation. */
type Expected = AlarmStateValue | 'retain';

describe('evaluateAlarmState against the CloudWatch documentation ("Configuring how CloudWatch alarms treat missing data")', () => {
  // Datapoints to Alarm 3, Evaluation Periods 3, evaluation range 5. Columns: MISSING, IGNORE, BREACHING, NOT BREACHING.
  const threeOfThree: ReadonlyArray<readonly [string, readonly [Expected, Expected, Expected, Expected]]> = [
    ['0 - X - X', ['OK', 'OK', 'OK', 'OK']],
    ['0 - - - -', ['OK', 'OK', 'OK', 'OK']],
    ['- - - - -', ['INSUFFICIENT_DATA', 'retain', 'ALARM', 'OK']],
    ['0 X X - X', ['ALARM', 'ALARM', 'ALARM', 'ALARM']],
    ['- - X - -', ['ALARM', 'retain', 'ALARM', 'OK']],
  ];
  // Datapoints to Alarm 2, Evaluation Periods 3 (M of N), evaluation range 5.
  const twoOfThree: ReadonlyArray<readonly [string, readonly [Expected, Expected, Expected, Expected]]> = [
    ['0 - X - X', ['ALARM', 'ALARM', 'ALARM', 'ALARM']],
    ['0 0 X 0 X', ['ALARM', 'ALARM', 'ALARM', 'ALARM']],
    ['0 - X - -', ['OK', 'OK', 'ALARM', 'OK']],
    ['- - - - 0', ['OK', 'OK', 'ALARM', 'OK']],
    ['- - - X -', ['ALARM', 'retain', 'ALARM', 'OK']],
  ];
  const cases = [
    ...threeOfThree.map(([data, expected]) => ({ table: '3 of 3', m: 3, data, expected })),
    ...twoOfThree.map(([data, expected]) => ({ table: '2 of 3', m: 2, data, expected })),
  ].flatMap(({ table, m, data, expected }) =>
    TREATMENTS.flatMap((treatMissingData, column) =>
      (['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const).map((current) => ({ table, m, data, treatMissingData, current, expected: expected[column] as Expected })),
    ),
  );

  it.each(cases)('$table: [$data] with $treatMissingData, from $current → $expected', ({ m, data, treatMissingData, current, expected }) => {
    // Act
    const next = evaluateAlarmState(range(data), { evaluationPeriods: 3, datapointsToAlarm: m, treatMissingData }, current);

    // Assess
    expect(next.state).toBe(expected === 'retain' ? current : expected);
    expect(next.reason.length).toBeGreaterThan(0);
  });

  it('does not alarm early on one fresh breaching datapoint (the documentation\'s "- - - - X" and "- - - X -" with 3 of 3)', () => {
    for (const data of ['- - - - X', '- - - X -']) {
      expect(evaluateAlarmState(range(data), { evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: 'missing' }, 'OK').state).toBe('OK');
    }
  });

  it.each([
    // Hand-computed M-of-N cases beyond the documentation's tables (N = 5, range 7).
    { data: '0 0 X X X 0 0', m: 3, treat: 'notBreaching', expected: 'ALARM' }, // the last 5 real: X X X 0 0
    { data: 'X X X 0 0 0 0', m: 3, treat: 'notBreaching', expected: 'OK' }, // the last 5 real: X 0 0 0 0
    { data: '- - X - X - X', m: 3, treat: 'notBreaching', expected: 'ALARM' }, // 3 real, all breaching
    { data: '- - 0 - X - X', m: 3, treat: 'breaching', expected: 'ALARM' }, // 2 breaching + 2 fills of the 2 missing slots needed
    { data: '- - 0 - 0 - X', m: 3, treat: 'breaching', expected: 'ALARM' }, // 1 + 2 fills
    { data: '- - 0 0 0 - X', m: 3, treat: 'breaching', expected: 'OK' }, // 1 + 1 fill
    { data: '- - - - - - 0', m: 1, treat: 'missing', expected: 'OK' },
    { data: '- - - - - - X', m: 1, treat: 'missing', expected: 'ALARM' },
  ] as const)('5 periods, $m to alarm: [$data] with $treat → $expected', ({ data, m, treat, expected }) => {
    expect(evaluateAlarmState(range(data), { evaluationPeriods: 5, datapointsToAlarm: m, treatMissingData: treat }, 'OK').state).toBe(expected);
  });
});

describe('computeStatistic', () => {
  const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  it.each([
    { statistic: 'Sum', expected: 55 },
    { statistic: 'Maximum', expected: 10 },
    { statistic: 'Minimum', expected: 1 },
    { statistic: 'Average', expected: 5.5 },
    { statistic: 'SampleCount', expected: 10 },
    // Nearest rank: ceil(p/100 × n)-th smallest.
    { statistic: 'p50', expected: 5 },
    { statistic: 'p90', expected: 9 },
    { statistic: 'p95', expected: 10 },
    { statistic: 'p99', expected: 10 },
    { statistic: 'p10', expected: 1 },
  ] as const)('$statistic of 1..10 is $expected', ({ statistic, expected }) => {
    expect(computeStatistic(values, statistic)).toBe(expected);
  });

  it('is missing (undefined) when the period has no values, for every statistic', () => {
    for (const statistic of ['Sum', 'Maximum', 'SampleCount', 'p99'] as const) expect(computeStatistic([], statistic)).toBeUndefined();
  });

  it('p99 of 200 values is the 198th smallest', () => {
    const hundreds = Array.from({ length: 200 }, (_, index) => index + 1);
    expect(computeStatistic(hundreds, 'p99')).toBe(198);
  });
});

describe('isBreaching: the comparison operators at the threshold', () => {
  it.each([
    ['GreaterThanThreshold', 9.999, false],
    ['GreaterThanThreshold', 10, false],
    ['GreaterThanThreshold', 10.001, true],
    ['GreaterThanOrEqualToThreshold', 9.999, false],
    ['GreaterThanOrEqualToThreshold', 10, true],
    ['GreaterThanOrEqualToThreshold', 10.001, true],
  ] as const)('%s 10 with a value of %f → %s', (comparison, value, expected) => {
    expect(isBreaching(value, { comparison, threshold: 10 })).toBe(expected);
  });
});

describe('computeStatistic: percentiles at their bounds', () => {
  it.each([
    ['p100', 10],
    ['p0.1', 1],
  ] as const)('%s of 1..10 is %i', (statistic, expected) => {
    expect(computeStatistic([3, 1, 2, 10, 4, 5, 6, 7, 8, 9], statistic as never)).toBe(expected);
  });

  it.each(['p0', 'p101', 'pX', 'Median'])('refuses the unsupported statistic %s', (statistic) => {
    expect(() => computeStatistic([1, 2], statistic as never)).toThrow(RangeError);
  });

  it('Minimum and Average of one value are that value', () => {
    expect(computeStatistic([7], 'Minimum')).toBe(7);
    expect(computeStatistic([7], 'Average')).toBe(7);
  });
});

describe('evaluateAlarmState: missing data with too few real datapoints', () => {
  it.each([
    // 3 periods, 2 to alarm; the range holds one real datapoint.
    ['- - - - X', 'missing', 'OK', 'OK'], // too young to be a premature alarm (age 1 < 2)
    ['- - - X -', 'missing', 'OK', 'ALARM'], // age 2: CloudWatch alarms early
    ['- - - X -', 'ignore', 'OK', 'OK'], // the same case, state kept
    ['- - - X -', 'ignore', 'ALARM', 'ALARM'],
    ['- - - 0 X', 'missing', 'OK', 'OK'], // not every real datapoint breaching
    ['- - - 0 X', 'ignore', 'ALARM', 'OK'],
    ['- - - 0 X', 'breaching', 'OK', 'ALARM'], // 1 + 1 fill
    ['- - - 0 X', 'notBreaching', 'ALARM', 'OK'],
    ['- - - X X', 'notBreaching', 'OK', 'ALARM'], // 2 real breaching are enough
  ] as const)('[%s] with %s from %s → %s', (data, treatMissingData, current, expected) => {
    expect(evaluateAlarmState(range(data), { evaluationPeriods: 3, datapointsToAlarm: 2, treatMissingData }, current).state).toBe(expected);
  });

  it('with no datapoints and missing treated as breaching, alarms only when N ≥ M', () => {
    expect(evaluateAlarmState(range('- - - - -'), { evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: 'breaching' }, 'OK').state).toBe('ALARM');
    expect(evaluateAlarmState(range('- - - - -'), { evaluationPeriods: 2, datapointsToAlarm: 3, treatMissingData: 'breaching' }, 'OK').state).toBe('OK');
  });

  it('with enough real datapoints, only the most recent N decide', () => {
    // X X 0 0 0: the two breaching points are older than the last 3
    expect(evaluateAlarmState(range('X X 0 0 0'), { evaluationPeriods: 3, datapointsToAlarm: 1, treatMissingData: 'breaching' }, 'ALARM').state).toBe('OK');
    expect(evaluateAlarmState(range('X X 0 0 X'), { evaluationPeriods: 3, datapointsToAlarm: 1, treatMissingData: 'notBreaching' }, 'OK').state).toBe('ALARM');
  });

  it('says why, in numbers', () => {
    expect(evaluateAlarmState(range('0 X X - X'), { evaluationPeriods: 3, datapointsToAlarm: 2, treatMissingData: 'missing' }, 'OK').reason).toBe(
      '3 of the last 3 datapoints breaching (2 needed)',
    );
    expect(evaluateAlarmState(range('- - - 0 X'), { evaluationPeriods: 3, datapointsToAlarm: 2, treatMissingData: 'breaching' }, 'OK').reason).toBe(
      '1 of 2 datapoints breaching + 1 missing treated as breaching (2 needed)',
    );
  });
});

describe('firedAlarmLines', () => {
  const state = (overrides: Partial<LocalAlarmState>): LocalAlarmState => ({
    id: 'ProcessorErrors',
    name: 'dev-ProcessorErrors',
    severity: 'page',
    state: 'OK',
    reason: '',
    firstFiredAt: null,
    firstFiredAfterSeconds: null,
    observable: true,
    runbook: 'RUNBOOK.md#processorerrors',
    ...overrides,
  });

  it('says none fired when none did, even if one is in ALARM without a first firing time', () => {
    expect(firedAlarmLines([state({}), state({ id: 'Other', state: 'INSUFFICIENT_DATA' })])).toEqual(['  alarms             none fired']);
  });

  it('lists each alarm that fired, with its state now, when, and its runbook', () => {
    const lines = firedAlarmLines([
      state({ state: 'ALARM', firstFiredAt: '2026-12-02T16:00:00.000Z', firstFiredAfterSeconds: 12.5 }),
      state({
        id: 'DlqNotEmpty',
        severity: 'ticket',
        state: 'OK',
        firstFiredAt: '2026-12-02T16:00:01.000Z',
        firstFiredAfterSeconds: 3,
        runbook: 'RUNBOOK.md#dlqnotempty',
      }),
      state({ id: 'Quiet' }),
    ]);
    expect(lines).toEqual([
      '  alarm page        ProcessorErrors: ALARM (after 12.5 s)  RUNBOOK.md#processorerrors',
      '  alarm ticket      DlqNotEmpty: fired, now OK (after 3 s)  RUNBOOK.md#dlqnotempty',
    ]);
  });
});

describe('LocalAlarmEvaluator over EMF lines printed by Powertools Metrics', () => {
  const catalog: AlarmCatalog = buildAlarmCatalog(loadStageConfig('dev'));
  let clock = 0;
  let stdout: ReturnType<typeof vi.spyOn>;

  afterEach(() => {
    stdout?.mockRestore();
  });

  /** A processor-like Metrics instance whose EMF lines go into the sink (Powertools writes them to stdout). */
  function processorMetrics(sink: LogSink): Metrics {
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      for (const line of String(chunk).split('\n')) if (line.trim()) sink.write(line);
      return true;
    });
    return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRIC_SERVICE.PROCESSOR, defaultDimensions: { [METRIC_DIMENSION.STAGE]: 'dev' } });
  }

  function evaluator(sink: LogSink, timeScale: number): LocalAlarmEvaluator {
    // No queues: this test feeds only EMF metrics; SQS alarms see no data.
    return new LocalAlarmEvaluator({ catalog, metrics: sink.metrics, timeScale, sqsEndpoint: 'http://127.0.0.1:9', queueUrls: {}, now: () => clock });
  }

  function stateOf(local: LocalAlarmEvaluator, id: string) {
    const state = local.states().find((alarm) => alarm.id === id);
    if (!state) throw new Error(`no alarm ${id}`);
    return state;
  }

  /** Publishes one batch's metrics at `at` ms, the way the processor does (alarm set plus a finer set). */
  function publish(metrics: Metrics, at: number, calls: number, errors: number): void {
    clock = at;
    metrics.setTimestamp(at);
    metrics.addDimensions({});
    metrics.addDimensions({ [METRIC_DIMENSION.TASK]: 'ticket-triage', [METRIC_DIMENSION.MODEL]: 'sim-primary' });
    for (let call = 0; call < calls; call += 1) metrics.addMetric(METRIC.MODEL_CALLS, MetricUnit.Count, 1);
    for (let error = 0; error < errors; error += 1) metrics.addMetric(METRIC.MODEL_ERRORS, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  }

  it('fires the model error-rate alarm after 2 of 3 scaled minutes at 90% errors, and says when', () => {
    // Prepare: time scale 0.1, so a 60 s period lasts 6 s; dev pages at ≥ 20% over ≥ 10 calls.
    clock = Date.now() - 3_600_000;
    const sink = new LogSink();
    const metrics = processorMetrics(sink);
    const local = evaluator(sink, 0.1);
    const start = clock;

    // Act: period 0 healthy (20 calls, 0 errors), periods 1 and 2 at 90% errors.
    publish(metrics, start + 1_000, 20, 0);
    clock = start + 6_600;
    local.evaluate();
    const afterHealthy = stateOf(local, 'model-error-rate').state;
    publish(metrics, start + 7_000, 20, 18);
    clock = start + 12_600;
    local.evaluate();
    const afterOneBad = stateOf(local, 'model-error-rate').state;
    publish(metrics, start + 13_000, 20, 18);
    clock = start + 18_600;
    local.evaluate();

    // Assess
    expect(afterHealthy).toBe('OK');
    expect(afterOneBad).toBe('OK');
    const fired = stateOf(local, 'model-error-rate');
    expect(fired.state).toBe('ALARM');
    expect(fired.firstFiredAfterSeconds).toBe(186); // 18.6 s of scaled time = 186 s
    expect(stateOf(local, 'pipeline-unhealthy').state).toBe('ALARM');
    expect(stateOf(local, 'validation-failure-rate').state).toBe('OK');
  });

  it('ignores values published only under a finer dimension set, as a CloudWatch alarm would', () => {
    // Prepare
    clock = Date.now() - 3_600_000;
    const sink = new LogSink();
    const metrics = processorMetrics(sink);
    const local = evaluator(sink, 0.1);
    const start = clock;

    // Act: every batch at 100% errors, but without the (service, stage) set.
    for (const offset of [1_000, 7_000, 13_000]) {
      clock = start + offset;
      metrics.setTimestamp(clock);
      metrics.addDimension(METRIC_DIMENSION.TASK, 'ticket-triage');
      for (let call = 0; call < 20; call += 1) metrics.addMetric(METRIC.MODEL_CALLS, MetricUnit.Count, 1);
      for (let error = 0; error < 20; error += 1) metrics.addMetric(METRIC.MODEL_ERRORS, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    }
    clock = start + 18_600;
    local.evaluate();

    // Assess
    expect(stateOf(local, 'model-error-rate').state).toBe('OK');
    expect(sink.total(METRIC.MODEL_ERRORS)).toBe(60);
    expect(sink.metrics.dimensionSetsOf(METRICS_NAMESPACE, METRIC.MODEL_ERRORS)).toEqual([{ service: 'processor', stage: 'dev', task: 'ticket-triage' }]);
  });

  it('compares durations in real time: 2 s of scaled latency at time scale 0.1 is a 20 s p99', () => {
    // Prepare: dev tickets at p99 ≥ 15,000 ms in 3 of 5 minutes.
    clock = Date.now() - 3_600_000;
    const sink = new LogSink();
    const metrics = processorMetrics(sink);
    const local = evaluator(sink, 0.1);
    const start = clock;

    // Act
    for (const period of [0, 1, 2]) {
      clock = start + period * 6_000 + 1_000;
      metrics.setTimestamp(clock);
      metrics.addDimensions({});
      for (let call = 0; call < 10; call += 1) metrics.addMetric(METRIC.MODEL_LATENCY, MetricUnit.Milliseconds, 2_000);
      metrics.publishStoredMetrics();
    }
    clock = start + 18_600;
    local.evaluate();

    // Assess
    expect(stateOf(local, 'model-latency-p99').state).toBe('ALARM');
  });

  it('counts a failed invocation as a Lambda error, and reports DynamoDB alarms as not observable', () => {
    // Prepare
    clock = Date.now() - 3_600_000;
    const sink = new LogSink();
    const local = evaluator(sink, 0.1);
    const start = clock;

    // Act: two failing invocations in each of two periods (dev pages at ≥ 1 error/min in 2 of 3).
    for (const at of [1_000, 2_000, 7_000, 8_000]) {
      clock = start + at;
      local.recordInvocation({ outcome: at % 2_000 === 0 ? 'timeout' : 'error' });
    }
    clock = start + 12_600;
    local.evaluate();

    // Assess
    expect(stateOf(local, 'processor-errors').state).toBe('ALARM');
    expect(stateOf(local, 'processor-throttles').state).toBe('OK');
    const dynamodb = stateOf(local, 'dynamodb-throttles');
    expect(dynamodb).toMatchObject({ state: 'INSUFFICIENT_DATA', observable: false });
    expect(dynamodb.reason).toMatch(/not observable locally/);
  });
});
