import type { AlarmDefinition, MetricQuery, Statistic, TreatMissingData } from '../lib/observability/alarm-types';

/*
 * CloudWatch's alarm rules, as the local alarm evaluator (alarm-evaluator.ts) applies them: a
 * period's statistic, the comparison with the threshold, and the state an evaluation range gives
 * under each missing-data treatment (metric math, FILL included, is evaluated by
 * lib/observability/metric-math.ts). Pure functions of their arguments, checked against the tables
 * of the CloudWatch documentation in test/unit/alarm-evaluator.test.ts.
 */

/** CloudWatch alarm states. */
export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** One datapoint of an alarm's evaluation range, classified against its threshold. */
export type DatapointClass = 'breaching' | 'ok' | 'missing';

/** The settings of an alarm that decide its state from classified datapoints. */
export interface EvaluationSettings {
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: TreatMissingData;
}

/** The outcome of one evaluation. */
export interface Evaluation {
  readonly state: AlarmStateValue;
  readonly reason: string;
}

/**
 * How many periods CloudWatch looks back beyond the evaluation periods when some are missing. The
 * documentation's examples use evaluation periods + 2 (3 periods, a range of 5); the real range
 * also depends on the period, which local runs are too short to tell apart.
 */
export const EXTRA_RANGE_PERIODS = 2;

/**
 * An alarm's next state from its evaluation range, as "Configuring how CloudWatch alarms treat
 * missing data" describes it. `range` is oldest first and holds `evaluationPeriods +
 * EXTRA_RANGE_PERIODS` datapoints (fewer at the start of a run).
 * - At least N real datapoints in the range: the most recent N decide (M of them breaching →
 *   ALARM); missing data is not consulted.
 * - None: `missing` → INSUFFICIENT_DATA, `ignore` → the current state, `breaching` → ALARM,
 *   `notBreaching` → OK.
 * - Fewer than N: every real datapoint counts, and only the shortfall is filled with the treatment
 *   (as few fills as possible). With `missing` and `ignore` nothing is filled; but when every
 *   real datapoint is breaching and the oldest is at least M periods old, CloudWatch goes to
 *   ALARM anyway (its "premature alarm" rule) — with `ignore` it keeps the current state instead.
 */
export function evaluateAlarmState(range: readonly DatapointClass[], settings: EvaluationSettings, current: AlarmStateValue): Evaluation {
  const { evaluationPeriods: n, datapointsToAlarm: m, treatMissingData } = settings;
  const real = range.map((point, index) => ({ point, age: range.length - index })).filter(({ point }) => point !== 'missing');
  const breachingReal = real.filter(({ point }) => point === 'breaching').length;

  if (real.length >= n) {
    const recent = real.slice(-n);
    const breaching = recent.filter(({ point }) => point === 'breaching').length;
    return verdict(breaching >= m, `${breaching} of the last ${n} datapoints breaching (${m} needed)`);
  }
  if (real.length === 0) {
    switch (treatMissingData) {
      case 'missing':
        return { state: 'INSUFFICIENT_DATA', reason: 'no datapoints in the evaluation range' };
      case 'ignore':
        return { state: current, reason: 'no datapoints in the evaluation range; missing data is ignored (state kept)' };
      case 'breaching':
        return verdict(n >= m, `no datapoints; ${n} missing treated as breaching (${m} needed)`);
      case 'notBreaching':
        return { state: 'OK', reason: 'no datapoints; missing treated as not breaching' };
    }
  }
  const fills = n - real.length;
  switch (treatMissingData) {
    case 'breaching':
      return verdict(
        breachingReal + fills >= m,
        `${breachingReal} of ${real.length} datapoints breaching + ${fills} missing treated as breaching (${m} needed)`,
      );
    case 'notBreaching':
      return verdict(breachingReal >= m, `${breachingReal} of ${real.length} datapoints breaching, ${fills} missing treated as not breaching (${m} needed)`);
    case 'missing':
    case 'ignore': {
      if (breachingReal >= m) return verdict(true, `${breachingReal} of ${real.length} datapoints breaching (${m} needed)`);
      const oldest = real[0];
      const premature = breachingReal === real.length && oldest !== undefined && oldest.age >= m;
      if (premature) {
        return treatMissingData === 'missing'
          ? { state: 'ALARM', reason: `every datapoint breaching and the oldest is ${oldest.age} periods old (${m} needed)` }
          : { state: current, reason: 'only breaching datapoints, too few to decide; missing data is ignored (state kept)' };
      }
      return verdict(false, `${breachingReal} of ${real.length} datapoints breaching (${m} needed)`);
    }
  }
}

/**
 * The missing-data treatment CloudWatch applies to an alarm: "Alarms that evaluate metrics in the
 * AWS/DynamoDB namespace always ignore missing data even if you choose a different option"
 * (PutMetricAlarm API reference, TreatMissingData); the declared treatment otherwise.
 */
export function effectiveTreatMissingData(alarm: Pick<AlarmDefinition, 'signal' | 'treatMissingData'>): TreatMissingData {
  const dynamodb = queriesOf(alarm).some(({ source }) => source.kind === 'aws' && source.namespace === 'AWS/DynamoDB');
  return dynamodb ? 'ignore' : alarm.treatMissingData;
}

function verdict(alarm: boolean, reason: string): Evaluation {
  return { state: alarm ? 'ALARM' : 'OK', reason };
}

/** A CloudWatch statistic over one period's values, undefined when there are none. Percentiles use the nearest rank. */
export function computeStatistic(values: readonly number[], statistic: Statistic): number | undefined {
  if (values.length === 0) return undefined;
  switch (statistic) {
    case 'Sum':
      return values.reduce((total, value) => total + value, 0);
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'Average':
      return values.reduce((total, value) => total + value, 0) / values.length;
    case 'SampleCount':
      return values.length;
    default: {
      const percentile = Number(statistic.slice(1));
      if (!(percentile > 0 && percentile <= 100)) throw new RangeError(`unsupported statistic ${statistic}`);
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1)];
    }
  }
}

/** Whether a value breaches an alarm's threshold. */
export function isBreaching(value: number, alarm: Pick<AlarmDefinition, 'comparison' | 'threshold'>): boolean {
  switch (alarm.comparison) {
    case 'GreaterThanThreshold':
      return value > alarm.threshold;
    case 'LessThanThreshold':
      return value < alarm.threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= alarm.threshold;
  }
}

/** The metric queries an alarm reads: its metric, or every metric of its metric math. */
export function queriesOf(alarm: Pick<AlarmDefinition, 'signal'>): MetricQuery[] {
  return alarm.signal.kind === 'metric' ? [alarm.signal.metric] : Object.values(alarm.signal.metrics);
}
