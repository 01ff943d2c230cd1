import { METRIC, type MetricService } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import type { AlarmDefinition, DashboardGraph, MetricQuery, MetricUnit, PipelineMetricName, ResourceRole, Statistic } from './alarm-types';
import { math } from './metric-math';

/*
 * The provider quota's alarms and dashboard graph (issue 14; docs/quotas.md). Apart from the
 * catalog so the catalog includes them with one line each; plain data like the catalog itself.
 */

/** The catalog's metric factories this file needs. */
export interface QuotaMetricFactories {
  readonly pipeline: (name: PipelineMetricName, statistic: Statistic, unit: MetricUnit, label: string, service?: MetricService) => MetricQuery;
  readonly sqs: (name: string, resource: ResourceRole, statistic: Statistic, unit: MetricUnit, label: string) => MetricQuery;
}

/** How long "at the quota" must last before it is a ticket (minutes). */
export const AT_QUOTA_MINUTES = 15;
/** How long deferrals and an old queue must coincide before the quota is named as the cause (minutes). */
const QUOTA_AGE_MINUTES = 5;

const STATUS = '`pipectl status`';

/** The primary model's RPM when pacing is on and one is configured. */
export function primaryRpm(config: StageConfig): number | undefined {
  if (config.quotas.pacing === 'off') return undefined;
  return config.quotas.models[config.model.primaryModelId]?.rpm;
}

/**
 * The quota alarms of a stage: none without an RPM for the primary model (nothing to compare
 * with); otherwise "at the quota for 15 minutes" and "queue age growing because of the quota",
 * both tickets — the pipeline is doing what it should, someone has to raise the quota in hours.
 */
export function quotaAlarms(config: StageConfig, metrics: QuotaMetricFactories): Array<Omit<AlarmDefinition, 'name'>> {
  const rpm = primaryRpm(config);
  if (rpm === undefined) return [];
  const calls = metrics.pipeline(METRIC.MODEL_CALLS, 'Sum', 'Count', 'model calls');
  const deferrals = metrics.pipeline(METRIC.QUOTA_DEFERRALS, 'Sum', 'Count', 'records deferred for a quota token');
  const age = metrics.sqs('ApproximateAgeOfOldestMessage', 'inputQueue', 'Maximum', 'Seconds', 'age of oldest input message');
  const ageThreshold = Math.max(60, Math.round(config.observability.alarms.inputAgeSlaSeconds / 2));
  const percent = config.quotas.atQuotaPercent;
  const model = config.model.primaryModelId;
  return [
    {
      id: 'model-at-quota',
      title: 'Model calls at the provider quota',
      severity: 'ticket',
      summary: `Model calls per minute have stayed at ${percent}% or more of the primary model's quota (${rpm} RPM) for ${AT_QUOTA_MINUTES} minutes.`,
      signal: {
        kind: 'math',
        label: 'model calls per minute (% of the quota)',
        unit: 'Percent',
        expression: math.divide(math.multiply(100, math.fill('calls')), rpm),
        metrics: { calls },
      },
      periodSeconds: 60,
      evaluationPeriods: AT_QUOTA_MINUTES,
      datapointsToAlarm: AT_QUOTA_MINUTES,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: percent,
      thresholdUnit: '% of the quota',
      treatMissingData: 'notBreaching',
      rationale:
        'Pacing keeps calls at or under the quota, so running at it is not an error: it means demand is above what the account may send, and work queues up. ' +
        `A burst does that for a few minutes; ${AT_QUOTA_MINUTES} minutes in a row is sustained demand, worth a quota increase. Calls of every model count (the alarm dimensions carry no model), so it errs towards firing. ` +
        'No calls is not at the quota: missing data is not breaching.',
      runbook: {
        meaning: `The pipeline has been calling ${model} at its quota (${rpm} requests per minute in the stage config) for ${AT_QUOTA_MINUTES} minutes: the pacing limiter holds calls back and the queue holds the rest.`,
        impact: 'Results come later, not worse: records wait on the input queue for a token instead of falling to the secondary model or rules.',
        firstFiveMinutes: [
          `${STATUS}: input queue depth and age; is input-age-from-quota or input-age-over-sla also in ALARM?`,
          'Check the dashboard graph "Model calls/min vs quota": a flat line at the quota is pacing at work; a line above it means the configured quota is higher than the real one (429s on ModelErrors).',
          '`pipectl jobs`: is a large job (a backfill, a replay) behind the demand?',
        ],
        diagnosis: {
          data: 'One producer sending far more than usual (a backfill or replay): the demand ends with the job.',
          infrastructure: 'Steady growth over days: the quota no longer fits normal traffic; plan an increase.',
          model: 'Longer prompts or answers do not change calls per minute, but they use a TPM quota faster: check TokensIn/TokensOut.',
        },
        remediations: [
          `Ask the provider for a higher quota for ${model}, then raise \`quotas.models\` in the stage config and deploy; the event source's concurrency follows (docs/quotas.md).`,
          'For a one-off backfill, let it drain at the quota: nothing is lost while messages are within the queue retention.',
        ],
        doNotAutomate:
          'Do not raise the configured quota above what the provider granted: the limiter would let calls through that the provider refuses with 429s.',
        verifyRecovery: ['Calls per minute drop below the threshold (the queue drained) or the new quota gives headroom; the alarm returns to OK.'],
        escalate: "The provider's account team for a quota increase; the pipeline owners if the queue retention is at risk.",
      },
    },
    {
      id: 'input-age-from-quota',
      title: 'Input queue ageing because of the provider quota',
      severity: 'ticket',
      summary: `The oldest input message is older than ${ageThreshold} s while records are being deferred for lack of quota tokens: raise the quota, do not debug the pipeline.`,
      signal: {
        kind: 'math',
        label: 'old queue while deferring for the quota (1 = yes)',
        unit: 'None',
        expression: math.if(math.and(math.compare(math.fill('deferrals'), '>=', 1), math.compare('age', '>=', ageThreshold)), 1, 0),
        metrics: { deferrals, age },
      },
      periodSeconds: 60,
      evaluationPeriods: QUOTA_AGE_MINUTES,
      datapointsToAlarm: QUOTA_AGE_MINUTES,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
      thresholdUnit: '(1 = yes)',
      treatMissingData: 'notBreaching',
      rationale:
        'Age alone says work is late, not why; deferrals alone are normal pacing. Both for several minutes in a row say the quota is the bottleneck, so on-call reads "raise the quota" before opening the processor logs. ' +
        `Half the input-age SLA (at least a minute) gives the ticket time to act before input-age-over-sla pages.`,
      runbook: {
        meaning:
          'Records are waiting on the input queue because the model quota allows no more calls: the limiter defers what it cannot serve, and the oldest message keeps getting older.',
        impact:
          'Results are late and getting later while demand stays above the quota. Nothing falls to a weaker tier and nothing is lost while messages are within the queue retention.',
        firstFiveMinutes: [
          `${STATUS}: queue age and depth, breaker closed? (an open breaker is an outage, not this).`,
          'Dashboard "Model calls/min vs quota": calls flat at the quota confirm it.',
          '`pipectl runbook model-at-quota` for the longer-term fix.',
        ],
        diagnosis: {
          data: 'A backfill or replay: `pipectl jobs` shows the job; it ends by itself.',
          infrastructure: 'Not an infrastructure fault: DynamoDB and Lambda alarms are quiet. If they are not, follow those first.',
          model:
            'ModelErrors with errorClass Throttled rising too: the provider grants less than the configured quota; lower `quotas.models` to what it grants.',
        },
        remediations: ['Raise the quota with the provider and in `quotas.models`, then deploy.', 'Or pause low-priority producers until the queue drains.'],
        doNotAutomate:
          'Do not turn pacing off (`quotas.pacing: off`) to drain faster: the provider refuses what goes over its quota, and the refusals cost receives.',
        verifyRecovery: ['QuotaDeferrals back to 0 and the oldest age falling; the alarm returns to OK.'],
        escalate: "The provider's account team for a quota increase; the pipeline owners if input-age-over-sla pages too.",
      },
    },
  ];
}

/** The dashboard row of the quota: calls per minute against it, deferrals and waits. Empty without a quota. */
export function quotaDashboard(
  config: StageConfig,
  alarms: readonly AlarmDefinition[],
  metrics: QuotaMetricFactories,
): Array<{ heading: string; graphs: DashboardGraph[] }> {
  const rpm = primaryRpm(config);
  if (rpm === undefined) return [];
  const atQuota = alarms.find((alarm) => alarm.id === 'model-at-quota');
  return [
    {
      heading: 'Provider quota',
      graphs: [
        {
          title: 'Model calls/min vs quota',
          left: [metrics.pipeline(METRIC.MODEL_CALLS, 'Sum', 'Count', 'model calls per minute')],
          thresholds: [
            { label: `quota of ${config.model.primaryModelId} (${rpm} RPM)`, value: rpm },
            ...(atQuota ? [{ label: `${atQuota.id} (${atQuota.severity})`, value: (rpm * atQuota.threshold) / 100 }] : []),
          ],
          width: 12,
        },
        {
          title: 'Pacing: deferrals and waits',
          left: [
            metrics.pipeline(METRIC.QUOTA_DEFERRALS, 'Sum', 'Count', 'records deferred for a token'),
            metrics.pipeline(METRIC.QUOTA_WAIT, 'p99', 'Milliseconds', 'wait for a token (p99)'),
          ],
          width: 12,
        },
      ],
    },
  ];
}
