/**
 * Metric math over metrics that have no datapoint at all (issue 13, item 7). CloudWatch's
 * documentation ("Using metric math"): arithmetic treats a missing value of a time series as 0;
 * a comparison between two series treats the missing side as 0; IF drops a timestamp whose
 * condition has no value. What it does not promise is that FILL(m, 0) invents datapoints for a
 * metric that has none in the whole range queried (there are no timestamps to fill). The alarms
 * must mean the same thing either way, and the local evaluator implements the stricter reading
 * (an empty series stays empty), so local drills cannot pass on a zero CloudWatch may never produce.
 */
import { describe, expect, it } from 'vitest';
import { loadStageConfig } from '../../lib/config/stage-load';
import { buildAlarmCatalog } from '../../lib/observability/alarm-catalog';
import type { AlarmDefinition } from '../../lib/observability/alarm-types';
import { evaluateExpression, math, type PeriodValues } from '../../lib/observability/metric-math';
import { effectiveTreatMissingData } from '../../local/alarm-rules';

const catalog = buildAlarmCatalog(loadStageConfig('dev'));

function alarm(id: string): AlarmDefinition {
  const found = catalog.alarms.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no alarm ${id}`);
  return found;
}

/** The alarm's value for one period under both readings of FILL on an empty series. */
function bothWays(id: string, values: PeriodValues): { filled: number | undefined; empty: number | undefined } {
  const { signal } = alarm(id);
  if (signal.kind !== 'math') throw new Error(`${id} is not a math alarm`);
  const absent = new Set(Object.keys(signal.metrics).filter((metric) => values[metric] === undefined));
  return {
    // FILL fills even a series with no datapoint in the range.
    filled: evaluateExpression(signal.expression, values),
    // FILL leaves a series with no datapoint in the range empty.
    empty: evaluateExpression(signal.expression, values, { emptyInRange: absent }),
  };
}

describe('metric math semantics (CloudWatch "Using metric math")', () => {
  it('FILL of a metric with no datapoint in the whole range stays missing; with one somewhere in the range, it fills', () => {
    expect(evaluateExpression(math.fill('m', 0), { m: undefined }, { emptyInRange: new Set(['m']) })).toBeUndefined();
    expect(evaluateExpression(math.fill('m', 0), { m: undefined }, { emptyInRange: new Set() })).toBe(0);
  });

  it('arithmetic treats a missing value as 0 when the other side has one; both missing is missing', () => {
    expect(evaluateExpression(math.add('a', 'b'), { a: 2, b: undefined })).toBe(2);
    expect(evaluateExpression(math.subtract('a', 'b'), { a: undefined, b: 3 })).toBe(-3);
    expect(evaluateExpression(math.add('a', 'b'), { a: undefined, b: undefined })).toBeUndefined();
    expect(evaluateExpression(math.divide('a', 'b'), { a: 1, b: 0 })).toBeUndefined();
  });

  it('IF drops a timestamp whose condition has no value', () => {
    expect(evaluateExpression(math.if(math.compare('a', '>', 1), 1, 0), { a: undefined })).toBeUndefined();
  });
});

describe('alarms that rely on FILL behave as intended either way', () => {
  it('processor-silent breaches when messages wait and the processor published nothing at all', () => {
    expect(bothWays('processor-silent', { visible: 5 })).toEqual({ filled: 1, empty: 1 });
  });

  it('processor-silent does not breach while records finish, nor on an idle queue', () => {
    expect(bothWays('processor-silent', { visible: 5, completed: 3 })).toEqual({ filled: 0, empty: 0 });
    expect(bothWays('processor-silent', { visible: 0 }).empty ?? 0).toBeLessThan(1);
    expect(bothWays('processor-silent', {}).empty ?? 0).toBeLessThan(1);
  });

  it.each(['dynamodb-throttles', 'dynamodb-system-errors'])('%s reads 0 (OK) on a busy table without throttling, not missing', (id) => {
    const { signal } = alarm(id);
    if (signal.kind !== 'math') throw new Error('math');
    const activity = Object.keys(signal.metrics).find((metric) => metric.startsWith('activity'));
    expect(activity, 'an activity metric anchors the sum').toBeDefined();
    expect(bothWays(id, { [activity as string]: 40 })).toEqual({ filled: 0, empty: 0 });
    expect(bothWays(id, { [activity as string]: 40, ledgerUpdateItem: 7 })).toEqual({ filled: 7, empty: 7 });
  });

  it('the heartbeat alarms breach on a period without a heartbeat either way', () => {
    const { empty, filled } = bothWays('reconciler-heartbeat', {});
    expect(filled).toBe(0); // < 1: breaching
    expect(empty).toBeUndefined(); // missing, treated as breaching
    expect(alarm('reconciler-heartbeat').treatMissingData).toBe('breaching');
  });
});

describe('AWS/DynamoDB alarms always ignore missing data (PutMetricAlarm, TreatMissingData)', () => {
  it('the local evaluator applies ignore to them, whatever the catalog says, and the declared treatment to the rest', () => {
    expect(effectiveTreatMissingData(alarm('dynamodb-throttles'))).toBe('ignore');
    expect(effectiveTreatMissingData(alarm('dynamodb-system-errors'))).toBe('ignore');
    expect(effectiveTreatMissingData(alarm('processor-errors'))).toBe('notBreaching');
    expect(effectiveTreatMissingData(alarm('reconciler-heartbeat'))).toBe('breaching');
  });
});
