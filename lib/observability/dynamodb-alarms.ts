import type { StageConfig } from '../config/stage-types';
import { type AlarmEntry, STATUS, triage } from './alarm-family';
import type { MetricQuery } from './alarm-types';
import { type MathExpression, math } from './metric-math';

/*
 * The ledger and control tables (DESIGN.md: the ledger, the one source of truth): throttled
 * requests and system errors, summed over every (table, operation) the stack calls.
 */

/**
 * The operations the stack calls on each table: DynamoDB reports ThrottledRequests and SystemErrors
 * per (table, operation) and only for operations that are called, so an alarm on any other would
 * never fire. Ledger: the processor's claim/complete (GetItem, PutItem, UpdateItem) and the
 * monitors' index Query. Control: breaker, budget and baselines (GetItem, PutItem, UpdateItem) and
 * the reconciler's job Scan. test/infra/alarm-reachability.test.ts checks each against the IAM
 * grants of the synthesized stack.
 */
const DYNAMODB_OPERATIONS = {
  ledgerTable: ['GetItem', 'PutItem', 'UpdateItem', 'Query'],
  controlTable: ['GetItem', 'PutItem', 'UpdateItem', 'Scan'],
} as const;

/** One metric per (table, operation): DynamoDB reports ThrottledRequests and SystemErrors per operation only. */
function dynamodbPerOperation(name: 'ThrottledRequests' | 'SystemErrors'): Record<string, MetricQuery> {
  const metrics: Record<string, MetricQuery> = {};
  for (const [table, prefixId] of [
    ['ledgerTable', 'ledger'],
    ['controlTable', 'control'],
  ] as const) {
    for (const operation of DYNAMODB_OPERATIONS[table]) {
      metrics[`${prefixId}${operation}`] = {
        source: { kind: 'aws', namespace: 'AWS/DynamoDB', name, resource: table, extraDimensions: { Operation: operation } },
        statistic: 'Sum',
        unit: 'Count',
        label: `${name} ${prefixId} ${operation}`,
      };
    }
  }
  return metrics;
}

/**
 * The sum of per-operation DynamoDB counters, anchored on the ledger's write activity. DynamoDB
 * publishes ThrottledRequests and SystemErrors only when they happen, and an AWS/DynamoDB alarm
 * always ignores missing data (PutMetricAlarm, TreatMissingData), so without an anchor a quiet
 * hour after a burst is "missing" and the alarm would hold ALARM. `0 * FILL(activity, 0)` adds
 * nothing but a value at every period the ledger is written, which makes the sum 0 (OK) on a
 * busy table whether or not FILL fills empty series. A table with no traffic at all keeps the
 * alarm's state: that is CloudWatch's rule for this namespace.
 */
function sumOfAll(metrics: Record<string, MetricQuery>): MathExpression {
  return math.add(
    ...Object.keys(metrics)
      .filter((id) => id !== 'activity')
      .map((id) => math.fill(id, 0)),
    math.multiply(0, math.fill('activity', 0)),
  );
}

/** The metrics plus the ledger's write activity, the anchor {@link sumOfAll} needs. */
function withActivity(metrics: Record<string, MetricQuery>): Record<string, MetricQuery> {
  return {
    ...metrics,
    activity: {
      source: { kind: 'aws', namespace: 'AWS/DynamoDB', name: 'ConsumedWriteCapacityUnits', resource: 'ledgerTable' },
      statistic: 'SampleCount',
      unit: 'Count',
      label: 'ledger writes (activity anchor)',
    },
  };
}

/** The DynamoDB tables' alarms, in catalog order. */ export function dynamodbAlarms(config: StageConfig): AlarmEntry[] {
  const t = config.observability.alarms;
  const throttleMetrics = withActivity(dynamodbPerOperation('ThrottledRequests'));
  const systemErrorMetrics = withActivity(dynamodbPerOperation('SystemErrors'));

  return [
    {
      id: 'dynamodb-throttles',
      title: 'DynamoDB throttling the pipeline',
      severity: 'ticket',
      summary: 'The ledger or control table throttled requests for several minutes.',
      signal: { kind: 'math', label: 'throttled requests (ledger + control)', unit: 'Count', expression: sumOfAll(throttleMetrics), metrics: throttleMetrics },
      periodSeconds: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.dynamodbThrottlesPerMinute,
      thresholdUnit: 'requests/min',
      treatMissingData: 'notBreaching',
      rationale:
        'DynamoDB only reports throttles when they happen (and alarms on AWS/DynamoDB keep their state when data is missing), so every input is FILLed with 0 and the sum always has a value. The SDK retries throttles: a ticket unless it lasts.',
      runbook: {
        meaning:
          'On-demand tables throttled requests: a hot partition (one key written very often) or a sudden traffic jump beyond what the table has adapted to.',
        impact: 'Slower records; if sustained, retryable failures and eventually dead letters.',
        firstFiveMinutes: [`${STATUS}`, 'CloudWatch Contributor Insights on the table (if enabled) shows the hot keys.', triage('dynamodb-throttles')],
        diagnosis: {
          data: 'One job id or one input sent thousands of times: duplicates all claim the same ledger key.',
          infrastructure:
            'Control-table throttles: the breaker/budget items are hot (too many concurrent writers); ledger throttles on writes during a traffic jump.',
          model: 'Not the model.',
        },
        remediations: ['Pace the producer.', '`pipectl pause` for a few minutes lets the table adapt; `pipectl resume` after.'],
        doNotAutomate: 'Do not auto-switch the tables to provisioned capacity: it trades throttles for a capacity plan someone must own.',
        verifyRecovery: ['Throttles at 0 for 5 minutes; the alarm returns to OK.'],
        escalate: 'AWS Support if throttling persists at steady traffic.',
      },
    },
    {
      id: 'dynamodb-system-errors',
      title: 'DynamoDB returning system errors',
      severity: 'ticket',
      summary: 'The ledger or control table returned system errors (HTTP 500) for several minutes.',
      signal: { kind: 'math', label: 'system errors (ledger + control)', unit: 'Count', expression: sumOfAll(systemErrorMetrics), metrics: systemErrorMetrics },
      periodSeconds: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.dynamodbSystemErrorsPerMinute,
      thresholdUnit: 'errors/min',
      treatMissingData: 'notBreaching',
      rationale:
        'Reported only when they happen, so FILLed with 0 like the throttles. Service-side and retried by the SDK: a ticket; if records stop finishing, processor-silent pages.',
      runbook: {
        meaning: 'DynamoDB itself failed requests (internal server errors).',
        impact: 'Retries add latency; sustained errors fail records back to the queue.',
        firstFiveMinutes: ['AWS Health Dashboard for DynamoDB in the region.', STATUS, triage('dynamodb-system-errors')],
        diagnosis: {
          data: 'Not data.',
          infrastructure: 'A regional DynamoDB event: the Health Dashboard says so.',
          model: 'Not the model.',
        },
        remediations: ['Nothing to change on our side: retries and the queue absorb it. `pipectl pause` if records start dead-lettering.'],
        doNotAutomate: 'Do not fail over regions automatically on this alarm; the ledger is regional and a failover is an incident decision.',
        verifyRecovery: ['System errors at 0 for 5 minutes; the alarm returns to OK.'],
        escalate: 'AWS Support with the request ids from the processor log.',
      },
    },
  ];
}
