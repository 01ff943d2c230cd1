import { METRIC, METRIC_DIMENSION, METRIC_SERVICE, METRICS_NAMESPACE } from '../../lambda/contract';
import type { LambdaMetricFactory, PipelineMetricFactory, SqsMetricFactory } from './alarm-family';
import type { AlarmCatalog, AlarmDefinition, DashboardGraph } from './alarm-types';

/*
 * The dashboard of the catalog (its quota rows are in quota-alarms.ts, its canary row in
 * canary-alarms.ts): one row per concern, each alarm's threshold drawn on its graph.
 */

/** The dashboard's rows. Alarm thresholds are drawn from the same definitions the alarms use. */
export function buildDashboard(
  alarms: readonly AlarmDefinition[],
  pipeline: PipelineMetricFactory,
  sqs: SqsMetricFactory,
  lambda: LambdaMetricFactory,
  stage: string,
  budgetSet: boolean,
): AlarmCatalog['dashboard'] {
  const threshold = (id: string) => {
    const alarm = alarms.find((candidate) => candidate.id === id);
    if (!alarm) throw new Error(`dashboard refers to unknown alarm ${id}`);
    return { label: `${alarm.id} (${alarm.severity})`, value: alarm.threshold };
  };
  const graphs = (heading: string, ...list: DashboardGraph[]) => ({ heading, graphs: list });
  return [
    graphs(
      'Throughput',
      {
        title: 'Records per minute by outcome',
        width: 12,
        left: [
          pipeline(METRIC.RECORDS_RECEIVED, 'Sum', 'Count', 'received'),
          pipeline(METRIC.RECORDS_COMPLETED, 'Sum', 'Count', 'completed'),
          pipeline(METRIC.DUPLICATES_SKIPPED, 'Sum', 'Count', 'duplicates skipped'),
          pipeline(METRIC.RECORDS_REJECTED, 'Sum', 'Count', 'rejected'),
          pipeline(METRIC.RECORDS_DEAD_LETTERED, 'Sum', 'Count', 'dead-lettered'),
          pipeline(METRIC.RECORDS_ESCALATED, 'Sum', 'Count', 'human review'),
          pipeline(METRIC.RECORDS_FAILED, 'Sum', 'Count', 'failed (will retry)'),
        ],
      },
      {
        title: 'Processor invocations',
        width: 12,
        left: [
          lambda('Invocations', 'Sum', 'Count', 'invocations'),
          lambda('Errors', 'Sum', 'Count', 'errors'),
          lambda('Throttles', 'Sum', 'Count', 'throttles'),
          lambda('ConcurrentExecutions', 'Maximum', 'Count', 'concurrent executions'),
        ],
        thresholds: [threshold('processor-errors')],
      },
    ),
    graphs(
      'Queues',
      {
        title: 'Queue depth',
        width: 8,
        left: [
          sqs('ApproximateNumberOfMessagesVisible', 'inputQueue', 'Maximum', 'Count', 'input visible'),
          sqs('ApproximateNumberOfMessagesNotVisible', 'inputQueue', 'Maximum', 'Count', 'input in flight'),
          sqs('ApproximateNumberOfMessagesVisible', 'inputDlq', 'Maximum', 'Count', 'DLQ'),
          sqs('ApproximateNumberOfMessagesVisible', 'reviewQueue', 'Maximum', 'Count', 'human review'),
        ],
        thresholds: [threshold('dlq-has-messages')],
      },
      {
        title: 'Age of the oldest message (s)',
        width: 8,
        left: [
          sqs('ApproximateAgeOfOldestMessage', 'inputQueue', 'Maximum', 'Seconds', 'input oldest (s)'),
          sqs('ApproximateAgeOfOldestMessage', 'reviewQueue', 'Maximum', 'Seconds', 'review oldest (s)'),
        ],
        thresholds: [threshold('input-age-over-sla')],
      },
      {
        title: 'End-to-end age at completion (ms, sent → done)',
        width: 8,
        left: [pipeline(METRIC.RECORD_AGE, 'p50', 'Milliseconds', 'p50'), pipeline(METRIC.RECORD_AGE, 'p99', 'Milliseconds', 'p99')],
      },
    ),
    graphs(
      'Model',
      {
        title: 'Model latency (ms)',
        width: 8,
        left: [
          pipeline(METRIC.MODEL_LATENCY, 'p50', 'Milliseconds', 'p50'),
          pipeline(METRIC.MODEL_LATENCY, 'p95', 'Milliseconds', 'p95'),
          pipeline(METRIC.MODEL_LATENCY, 'p99', 'Milliseconds', 'p99'),
        ],
        thresholds: [threshold('model-latency-p99')],
      },
      {
        title: 'Model calls, errors, retries, validation failures',
        width: 8,
        left: [
          pipeline(METRIC.MODEL_CALLS, 'Sum', 'Count', 'calls'),
          pipeline(METRIC.MODEL_ERRORS, 'Sum', 'Count', 'errors'),
          pipeline(METRIC.MODEL_RETRIES, 'Sum', 'Count', 'retries'),
          pipeline(METRIC.VALIDATION_FAILURES, 'Sum', 'Count', 'validation failures'),
        ],
        search: {
          expression: `SEARCH('{${METRICS_NAMESPACE}} MetricName="${METRIC.MODEL_ERRORS}" ${METRIC_DIMENSION.STAGE}="${stage}" ${METRIC_DIMENSION.ERROR_CLASS}', 'Sum', 60)`,
          label: 'errors by class',
        },
      },
      {
        title: 'Tokens and estimated cost',
        width: 8,
        left: [
          pipeline(METRIC.TOKENS_IN, 'Sum', 'Count', 'tokens in'),
          pipeline(METRIC.TOKENS_OUT, 'Sum', 'Count', 'tokens out'),
          pipeline(METRIC.ESTIMATED_COST_USD, 'Sum', 'None', 'estimated cost (USD)'),
        ],
      },
    ),
    graphs(
      'Resilience',
      {
        title: 'Fallbacks by tier',
        width: 8,
        left: [pipeline(METRIC.FALLBACKS, 'Sum', 'Count', 'all fallbacks'), pipeline(METRIC.RECORDS_ESCALATED, 'Sum', 'Count', 'to human review')],
        search: {
          expression: `SEARCH('{${METRICS_NAMESPACE}} MetricName="${METRIC.FALLBACKS}" ${METRIC_DIMENSION.STAGE}="${stage}" ${METRIC_DIMENSION.TIER}', 'Sum', 60)`,
          label: 'by tier',
        },
      },
      {
        title: 'Breaker state (1 = refusing calls)',
        width: 8,
        left: [pipeline(METRIC.BREAKER_OPEN, 'Maximum', 'None', 'breaker open')],
        thresholds: [threshold('breaker-open')],
      },
      ...(budgetSet
        ? [
            {
              title: 'Hourly budget used (%)',
              width: 8,
              left: [
                pipeline(METRIC.BUDGET_USED_PERCENT, 'Maximum', 'Percent', 'budget used'),
                pipeline(METRIC.BUDGET_EXHAUSTED, 'Sum', 'Count', 'records refused: budget'),
              ],
              thresholds: [threshold('budget-warning'), threshold('budget-exhausted')],
            },
          ]
        : []),
    ),
    graphs(
      'Completeness and drift',
      {
        title: 'Incomplete job items (reconciler)',
        width: 12,
        left: [pipeline(METRIC.INCOMPLETE_JOB_ITEMS, 'Maximum', 'Count', 'incomplete items', METRIC_SERVICE.RECONCILER)],
      },
      {
        title: 'Drift score, max over features (PSI)',
        width: 12,
        left: [pipeline(METRIC.DRIFT_SCORE, 'Maximum', 'None', 'max PSI', METRIC_SERVICE.DRIFT_MONITOR)],
        thresholds: [threshold('drift-warning'), threshold('drift-critical')],
      },
    ),
  ];
}
