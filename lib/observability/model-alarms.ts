import { METRIC } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import { type AlarmEntry, type CatalogMetrics, STATUS, triage } from './alarm-family';
import { math } from './metric-math';

/*
 * The model call and its output (DESIGN.md data flow steps 5 and 6): errors of any class, p99
 * latency (a brownout), and answers that fail parsing or the task's schema.
 */

/** The model's alarms, in catalog order. */
export function modelAlarms(config: StageConfig, metrics: CatalogMetrics): AlarmEntry[] {
  const t = config.observability.alarms;
  const { pipeline } = metrics;
  const modelCalls = pipeline(METRIC.MODEL_CALLS, 'Sum', 'Count', 'model calls');

  return [
    {
      id: 'model-error-rate',
      title: 'Model error rate high',
      severity: 'page',
      summary: 'A large share of model calls failed (any error class) or were refused by an open breaker, over a minimum number of attempts.',
      signal: {
        kind: 'math',
        label: 'model calls failed or refused (%)',
        unit: 'Percent',
        expression: math.if(
          math.compare(math.add(math.fill('calls'), math.fill('refused')), '>=', t.rateMinimumSamples),
          math.divide(math.multiply(100, math.add(math.fill('errors'), math.fill('refused'))), math.add(math.fill('calls'), math.fill('refused'))),
          0,
        ),
        metrics: {
          errors: pipeline(METRIC.MODEL_ERRORS, 'Sum', 'Count', 'model errors'),
          calls: modelCalls,
          refused: pipeline(METRIC.BREAKER_OPEN, 'Sum', 'Count', 'calls refused by an open breaker'),
        },
      },
      periodSeconds: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.modelErrorRatePercent,
      thresholdUnit: '%',
      treatMissingData: 'notBreaching',
      rationale:
        'A rate, not a count, so it means the same at 10 and 10,000 calls a minute; below the minimum number of attempts it reads 0, because two failures out of three calls are noise. ' +
        'Calls the open breaker refused count as failed: once the breaker opens there are few real calls, and an error rate over those alone would clear the page while the provider is still down. ' +
        '2 of 3 minutes rides out a short burst of 429s that retries absorb.',
      runbook: {
        meaning:
          'The model provider is failing a large share of calls: throttling (429), server errors (5xx), timeouts, or non-retryable errors such as quota exhausted or access denied; or the breaker has opened and refuses calls. Retries and the fallback chain are absorbing what they can. The alarm stays in ALARM while the breaker is open, and clears once calls succeed again.',
        impact:
          'Retries add latency; records fall back to the secondary model, the rules or human review, so answers are of lower quality; some records may dead-letter after their receives.',
        firstFiveMinutes: [
          `${STATUS}: breaker state per model, the hour's budget, and which error classes dominate.`,
          'If the breaker is not open yet and the provider is clearly down, open it: `pipectl breaker open --model <id>` (records go to the next tier at once instead of burning retries). `pipectl breaker close --model <id>` undoes it.',
          'If the errors are quota or access denied (not retryable), no retry will help: go straight to the provider account.',
          "Check the provider's status page.",
          triage('model-error-rate'),
        ],
        diagnosis: {
          data: 'Errors for one task only, with the provider healthy for others: a prompt that is too long or content filtered — the `errorClass` of the per-record log lines shows it.',
          infrastructure:
            'Throttling (429) that follows our own traffic rising: our concurrency or the provider quota. AccessDenied after a deployment: IAM or the API key secret.',
          model:
            '5xx or timeouts for every task at once, matching the provider status page: the provider is down or browning out. A new model version rolled out by the provider shows as validation failures, not errors.',
        },
        remediations: [
          '`pipectl breaker open --model <id>` during a provider outage; `pipectl breaker close --model <id>` when its status page is green again (the half-open probe also closes it by itself).',
          'Quota exhausted: raise the quota with the provider, or lower the stage budget so the pipeline stops asking.',
          'Credentials: rotate the API key secret, then the next cold start reads it.',
        ],
        doNotAutomate:
          'Do not auto-switch the primary model id in config on this alarm: a different model changes answers (and the idempotency key through the task version). The breaker is the automatic part; the model choice is a human decision.',
        verifyRecovery: [
          'The error rate under the threshold for 3 minutes; the alarm returns to OK.',
          '`pipectl breaker status` shows the breaker closed.',
          `${STATUS}: completions by tier back to primary.`,
        ],
        escalate: "Provider outage beyond 30 minutes: the provider's support with the request ids from the log. Quota or billing: the account owner.",
      },
    },
    {
      id: 'model-latency-p99',
      title: 'Model latency p99 high (brownout)',
      severity: 'ticket',
      summary: 'The p99 model call latency is high for several minutes: the provider is browning out.',
      signal: { kind: 'metric', metric: pipeline(METRIC.MODEL_LATENCY, 'p99', 'Milliseconds', 'model latency p99') },
      periodSeconds: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.modelLatencyP99Ms,
      thresholdUnit: 'ms',
      treatMissingData: 'notBreaching',
      rationale:
        'p99 rather than the average: a brownout hurts the tail first. A ticket, because slow calls still finish; if the slowness backs the queue up past the SLA, input-age-over-sla pages.',
      runbook: {
        meaning:
          "Model calls are slow at the tail. Timeouts come from the Lambda's remaining time, so slow calls end in a timeout and a retry, then a fallback.",
        impact: 'Higher end-to-end latency; more fallbacks to lower tiers; lower throughput at the same concurrency.',
        firstFiveMinutes: [
          `${STATUS}: is the input age rising towards the SLA? Is the breaker opening?`,
          "Compare with the provider's status page and with model-error-rate.",
          triage('model-latency-p99'),
        ],
        diagnosis: {
          data: 'Latency up for one task only: its prompts got longer (inputs grew, tokens in up on the dashboard).',
          infrastructure: 'Latency up for every task with tokens flat: the provider or the network path to it.',
          model: 'A provider-side model update can change latency and output length at once: tokens out up on the dashboard.',
        },
        remediations: ['If the queue is backing up, `pipectl breaker open --model <id>` to serve from the secondary tier; close it when latency recovers.'],
        doNotAutomate: 'Do not auto-raise timeouts: a longer timeout holds concurrency on a sick provider and pushes the function towards its own timeout.',
        verifyRecovery: ['p99 back under the threshold for 5 minutes; the alarm returns to OK.'],
        escalate: "A brownout beyond an hour: the provider's support.",
      },
    },
    {
      id: 'validation-failure-rate',
      title: 'Model output failing validation',
      severity: 'ticket',
      summary: "A large share of model answers failed JSON parsing or the task's output schema.",
      signal: {
        kind: 'math',
        label: 'validation failures per model call (%)',
        unit: 'Percent',
        expression: math.if(math.compare(math.fill('calls'), '>=', t.rateMinimumSamples), math.divide(math.multiply(100, math.fill('invalid')), 'calls'), 0),
        metrics: { invalid: pipeline(METRIC.VALIDATION_FAILURES, 'Sum', 'Count', 'validation failures'), calls: modelCalls },
      },
      periodSeconds: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.validationFailureRatePercent,
      thresholdUnit: '%',
      treatMissingData: 'notBreaching',
      rationale: 'Invalid output is repaired or falls back, so nothing is stored wrong; a rising rate is a quality and cost problem for working hours.',
      runbook: {
        meaning:
          "The model answers, but the answers are not valid JSON or do not match the task's output schema (or are truncated). The repair attempt and the fallback chain handle each record.",
        impact: 'More records served by rules or human review; more tokens spent on repair attempts.',
        firstFiveMinutes: [
          `${STATUS}: completions by tier.`,
          'Look at a few failing answers in the per-record log lines (errorClass, tier).',
          triage('validation-failure-rate'),
        ],
        diagnosis: {
          data: 'Failures concentrated on unusual inputs (very long, other languages): the prompt does not cover them.',
          infrastructure: 'Truncated answers (finish reason "length"): the max output tokens setting is too low for the schema.',
          model: 'A sudden step for every input at one time: the provider changed the model behind the id. Pin a dated model version.',
        },
        remediations: [
          'Pin the model version in the stage config.',
          'Bump the task version with a fixed prompt (a new idempotency key space; old results stay).',
        ],
        doNotAutomate: "Do not auto-edit prompts or schemas; both change the task's meaning and must go through a task version bump and review.",
        verifyRecovery: ['The rate under the threshold for 5 minutes; the alarm returns to OK.'],
        escalate: 'The task owner (whoever wrote the prompt and schema).',
      },
    },
  ];
}
