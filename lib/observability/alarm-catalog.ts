import { quotaAlarms, quotaDashboard } from './quota-alarms';
import {
  DRIFT_MAX_FEATURE,
  DRIFT_SERVING_MIX_FEATURE,
  METRIC,
  METRIC_DIMENSION,
  METRIC_SERVICE,
  METRICS_NAMESPACE,
  type MetricService,
} from '../../lambda/contract';
import type { StageConfig } from '../config/stage-config';
import type {
  AlarmCatalog,
  AlarmDefinition,
  CompositeAlarmDefinition,
  DashboardGraph,
  MetricQuery,
  MetricUnit,
  PipelineMetricName,
  ResourceRole,
  RunbookText,
  Statistic,
} from './alarm-types';
import { canaryAlarm, canaryDashboardRow, shadowDashboardRow } from './canary-alarms';
import { entityLoopAlarms } from './entity-loop-alarms';
import { math } from './metric-math';

/*
 * The alarm catalog: the one place an alarm is declared. The CDK construct
 * (observability.ts) creates the CloudWatch alarms, the composite and the dashboard from it;
 * scripts/write-runbook.ts writes RUNBOOK.md from it; `pipectl runbook` prints its sections; local
 * mode evaluates its definitions over what a local run emits. Thresholds come from the stage
 * config (`observability.alarms`); periods, datapoints and missing-data treatment are here, each
 * with the reason for it, because they are properties of the signal rather than of the stage.
 */

/** The id of the composite alarm, and its runbook anchor. */
export const COMPOSITE_ALARM_ID = 'pipeline-unhealthy';

/** The stack name of a stage, as `createPipelineApp` names it. */
export function defaultStackName(stage: string): string {
  return `AiPipeline-${stage}`;
}

/** Alarm names are `<stack>-<id>`, so one prefix finds them all (DescribeAlarms AlarmNamePrefix). */
export function alarmNamePrefix(stackName: string): string {
  return `${stackName}-`;
}

/** The address of an alarm's runbook section. */
export function runbookUrl(baseUrl: string, alarmId: string): string {
  return `${baseUrl}#${alarmId}`;
}

/** Options of {@link buildAlarmCatalog}. */
export interface AlarmCatalogOptions {
  /** @default `AiPipeline-<stage>` */
  readonly stackName?: string;
}

/** The commands every section's first step starts from. */
const STATUS = '`pipectl status`';
const triage = (id: string) => `\`pipectl triage --alarm ${id} --since 3h\` (writes incident-<time>.md with the evidence; changes nothing)`;

/**
 * The catalog of one stage.
 *
 * @example
 * const catalog = buildAlarmCatalog(loadStageConfig('prod'));
 * catalog.alarms.find((alarm) => alarm.id === 'dlq-has-messages')?.threshold; // 1
 */
export function buildAlarmCatalog(config: StageConfig, options: AlarmCatalogOptions = {}): AlarmCatalog {
  const stackName = options.stackName ?? defaultStackName(config.stage);
  const prefix = alarmNamePrefix(stackName);
  const t = config.observability.alarms;
  const stage = config.stage;

  // The processor's metrics carry the stage's serviceName (its POWERTOOLS_SERVICE_NAME); the monitors' their own.
  const pipeline = (
    name: PipelineMetricName,
    statistic: Statistic,
    unit: MetricUnit,
    label: string,
    service: string = config.serviceName,
    feature: string = DRIFT_MAX_FEATURE,
  ): MetricQuery => ({
    source: {
      kind: 'pipeline',
      namespace: METRICS_NAMESPACE,
      name,
      dimensions: {
        [METRIC_DIMENSION.SERVICE]: service,
        [METRIC_DIMENSION.STAGE]: stage,
        ...(name === METRIC.DRIFT_SCORE ? { [METRIC_DIMENSION.FEATURE]: feature } : {}),
      },
    },
    statistic,
    unit,
    label,
  });
  const sqs = (name: string, resource: ResourceRole, statistic: Statistic, unit: MetricUnit, label: string): MetricQuery => ({
    source: { kind: 'aws', namespace: 'AWS/SQS', name, resource },
    statistic,
    unit,
    label,
  });
  const lambda = (name: string, statistic: Statistic, unit: MetricUnit, label: string, resource: ResourceRole = 'processor'): MetricQuery => ({
    source: { kind: 'aws', namespace: 'AWS/Lambda', name, resource },
    statistic,
    unit,
    label,
  });
  /** One metric per (table, operation): DynamoDB reports ThrottledRequests and SystemErrors per operation only. */
  const dynamodbPerOperation = (name: 'ThrottledRequests' | 'SystemErrors'): Record<string, MetricQuery> => {
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
  };
  /**
   * The sum of per-operation DynamoDB counters, anchored on the ledger's write activity. DynamoDB
   * publishes ThrottledRequests and SystemErrors only when they happen, and an AWS/DynamoDB alarm
   * always ignores missing data (PutMetricAlarm, TreatMissingData), so without an anchor a quiet
   * hour after a burst is "missing" and the alarm would hold ALARM. `0 * FILL(activity, 0)` adds
   * nothing but a value at every period the ledger is written, which makes the sum 0 (OK) on a
   * busy table whether or not FILL fills empty series. A table with no traffic at all keeps the
   * alarm's state: that is CloudWatch's rule for this namespace.
   */
  const sumOfAll = (metrics: Record<string, MetricQuery>) =>
    math.add(
      ...Object.keys(metrics)
        .filter((id) => id !== 'activity')
        .map((id) => math.fill(id, 0)),
      math.multiply(0, math.fill('activity', 0)),
    );
  const withActivity = (metrics: Record<string, MetricQuery>): Record<string, MetricQuery> => ({
    ...metrics,
    activity: {
      source: { kind: 'aws', namespace: 'AWS/DynamoDB', name: 'ConsumedWriteCapacityUnits', resource: 'ledgerTable' },
      statistic: 'SampleCount',
      unit: 'Count',
      label: 'ledger writes (activity anchor)',
    },
  });

  const modelCalls = pipeline(METRIC.MODEL_CALLS, 'Sum', 'Count', 'model calls');
  const served = {
    completed: pipeline(METRIC.RECORDS_COMPLETED, 'Sum', 'Count', 'completed'),
    escalated: pipeline(METRIC.RECORDS_ESCALATED, 'Sum', 'Count', 'escalated'),
  };
  const throttleMetrics = withActivity(dynamodbPerOperation('ThrottledRequests'));
  /** A drift alarm's period is the drift monitor's schedule: one published score per period. */
  const driftPeriodSeconds = config.drift.scheduleMinutes * 60;
  const systemErrorMetrics = withActivity(dynamodbPerOperation('SystemErrors'));

  const definitions: ReadonlyArray<Omit<AlarmDefinition, 'name'>> = [
    {
      id: 'input-age-over-sla',
      title: 'Oldest input message older than the SLA',
      severity: 'page',
      summary: "The oldest message on the input queue has waited longer than the stage's SLA: consumer lag, a brownout, or a paused processor.",
      signal: { kind: 'metric', metric: sqs('ApproximateAgeOfOldestMessage', 'inputQueue', 'Maximum', 'Seconds', 'age of oldest input message') },
      periodSeconds: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.inputAgeSlaSeconds,
      thresholdUnit: 's',
      treatMissingData: 'notBreaching',
      rationale:
        'The age is already a sustained signal (a message waited the whole SLA); 2 of 3 minutes keeps one slow sample from paging. ' +
        'SQS stops reporting an idle queue, which is not late work: missing data is not breaching.',
      runbook: {
        meaning:
          'Work is not keeping up: the oldest message on the input queue has waited longer than the stage promises. SQS leaves out ' +
          'messages received three times or more, so this is the age of ordinary work, not of one poison message being retried.',
        impact: 'Results arrive late for every producer. Nothing is lost yet: messages wait in the queue for its retention period.',
        firstFiveMinutes: [
          `${STATUS}: is the event source mapping paused (someone ran \`pipectl pause\`)? Is the breaker open? Is the hour's budget spent?`,
          'If paused on purpose, this alarm is the expected cost of the pause: decide with whoever paused it whether to `pipectl resume`.',
          'If the model is browning out (model-latency-p99 or model-error-rate in ALARM), the breaker and the fallback chain are already shedding load; do not raise concurrency into a sick provider.',
          'If the processor is failing (processor-errors, processor-silent), go to that section: this one is the symptom.',
          triage('input-age-over-sla'),
        ],
        diagnosis: {
          data: 'A burst from one producer (a backfill, a retry storm upstream) raises depth and age while error rates stay flat: `pipectl jobs` shows a large recent job.',
          infrastructure:
            'Lambda throttles, processor errors or DynamoDB throttles in ALARM at the same time point at capacity or a failing dependency, not at the model.',
          model: 'Model latency up with error rate flat is a brownout: calls take longer, so the same concurrency finishes fewer records.',
        },
        remediations: [
          'Brownout: `pipectl breaker open --model <id>` sends records to the secondary model/rules at once instead of waiting for timeouts; `pipectl breaker close --model <id>` undoes it.',
          'A backfill: let it drain; tell the producer to pace the next one (`pipectl send` sends in bounded batches).',
          'Paused by mistake: `pipectl resume`.',
        ],
        doNotAutomate:
          'Do not auto-raise the event source maxConcurrency or the function concurrency: during a brownout more concurrency multiplies in-flight calls into a provider that is already slow, and it spends the budget faster.',
        verifyRecovery: [
          `${STATUS} shows the oldest input age falling and the depth going down.`,
          'The alarm returns to OK after 2 of 3 minutes under the SLA.',
        ],
        escalate:
          "If the age keeps rising 30 minutes after the cause is addressed, or the queue retention (4 days by default) is within a day, call the pipeline owners; a provider outage goes to the model provider's support.",
      },
    },
    {
      id: 'processor-silent',
      title: 'Processor silent: messages waiting, zero records finished',
      severity: 'page',
      summary: 'Messages have waited on the input queue for several consecutive minutes while the processor finished no record.',
      signal: {
        kind: 'math',
        label: 'messages waiting and nothing finished (1 = silent)',
        unit: 'None',
        // (visible >= 1) - (finished > 0), not IF(visible >= 1 AND finished == 0, …): a processor that
        // publishes nothing at all may leave the FILLed sum empty (FILL has no timestamps to fill in
        // an empty series), and the AND would then read false. Subtraction treats the missing side
        // as 0 ("Using metric math"), so waiting messages with no finished record breach either way.
        expression: math.subtract(
          math.if(math.compare('visible', '>=', 1), 1, 0),
          math.if(math.compare(math.add(math.fill('completed'), math.fill('duplicates'), math.fill('rejected'), math.fill('escalated')), '>', 0), 1, 0),
        ),
        metrics: {
          visible: sqs('ApproximateNumberOfMessagesVisible', 'inputQueue', 'Maximum', 'Count', 'input messages visible'),
          completed: served.completed,
          duplicates: pipeline(METRIC.DUPLICATES_SKIPPED, 'Sum', 'Count', 'duplicates skipped'),
          rejected: pipeline(METRIC.RECORDS_REJECTED, 'Sum', 'Count', 'rejected'),
          escalated: served.escalated,
        },
      },
      periodSeconds: 60,
      evaluationPeriods: t.processorSilentMinutes,
      datapointsToAlarm: t.processorSilentMinutes,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
      thresholdUnit: '(1 = silent)',
      treatMissingData: 'notBreaching',
      rationale:
        'Error alarms cannot see a processor that is not running at all (mapping disabled, crash at init, permissions); this one needs no error to fire. ' +
        'Every consecutive minute must be silent, so a slow batch does not page. An idle queue reports no depth: not breaching.',
      runbook: {
        meaning:
          'Messages are waiting and the processor has completed, skipped, rejected or escalated nothing for several minutes: it is not being invoked, or every invocation dies before it finishes a record.',
        impact: 'No results at all for anyone. Messages pile up in the input queue and will dead-letter after maxReceiveCount if invocations crash.',
        firstFiveMinutes: [
          `${STATUS}: is the event source mapping paused? If someone paused it on purpose, this alarm is expected; confirm and acknowledge.`,
          'Check processor-errors: if it is in ALARM too, invocations crash (look at the last deployment first).',
          'If invocations crash and messages are burning their receives, `pipectl pause` stops the burn: messages wait instead of dead-lettering.',
          triage('processor-silent'),
        ],
        diagnosis: {
          data: 'A single poison batch that crashes the runtime (not just a bad record) shows as errors on every invocation with the same message ids; `pipectl dlq list` fills with MAX_RECEIVES_EXCEEDED.',
          infrastructure:
            'Disabled mapping, a deployment that broke the bundle or its environment, a revoked IAM or KMS permission (AccessDenied in the log), Lambda throttled to zero (processor-throttles).',
          model:
            'Not the model: a failing model still finishes records through the fallback chain. If records all go FAILED, model-error-rate is in ALARM too.',
        },
        remediations: [
          'Paused by mistake: `pipectl resume`.',
          'A bad deployment: roll back to the last known-good version (`cdk deploy` of the previous commit), then `pipectl resume`.',
          'Permissions: restore the policy from the stack (`cdk deploy`); do not widen it by hand.',
        ],
        doNotAutomate: 'Do not auto-resume a paused mapping: a human paused it for a reason. Do not auto-redeploy on this alarm; a rollback is a decision.',
        verifyRecovery: [
          `${STATUS} shows completions in the last minutes and the input depth falling.`,
          'The alarm returns to OK after one minute with a finished record.',
        ],
        escalate: 'Not recovering within 15 minutes of a rollback: the pipeline owners. Lambda or SQS service events on the AWS Health Dashboard: AWS Support.',
      },
    },
    {
      id: 'processor-errors',
      title: 'Processor invocations failing',
      severity: 'page',
      summary: 'The processor function failed whole invocations (crash, timeout, unhandled error).',
      signal: { kind: 'metric', metric: lambda('Errors', 'Sum', 'Count', 'processor errors') },
      periodSeconds: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.processorErrorsPerMinute,
      thresholdUnit: 'errors/min',
      treatMissingData: 'notBreaching',
      rationale:
        'The handler answers with a partial batch response, so a record-level failure is not a Lambda error: any Errors datapoint is a whole batch lost to a crash or timeout. 2 of 3 minutes ignores a single cold-start hiccup.',
      runbook: {
        meaning:
          'Whole invocations fail: the handler throws, the runtime crashes, or the function times out. Every record of those batches comes back after its visibility timeout and counts a receive.',
        impact: 'Results are delayed; records that fail maxReceiveCount times go to the DLQ without a result.',
        firstFiveMinutes: [
          `${STATUS}: what else is in ALARM? A timeout during a brownout shows up here and in model-latency-p99.`,
          'Read the last errors in the processor log group (CloudWatch Logs Insights: `filter level = "ERROR" | sort @timestamp desc | limit 20`).',
          'If a deployment went out in the last hour, roll it back before anything else.',
          'If records are burning receives towards the DLQ, `pipectl pause` stops it (`pipectl resume` undoes it).',
          triage('processor-errors'),
        ],
        diagnosis: {
          data: 'The same message ids in every failed batch: one input crashes the runtime (a parser bug). `pipectl dlq show <id>` once it dead-letters; the parser must reject it instead.',
          infrastructure:
            '`Task timed out` lines: the time budget (timeout margin, model timeout) is wrong for the current latency. AccessDenied/KMS errors: permissions. Out of memory: the memory size.',
          model: 'Timeouts that follow model latency are a brownout the time budget did not absorb; the breaker should open — check `pipectl breaker status`.',
        },
        remediations: [
          'Roll back the last deployment (`cdk deploy` of the previous commit).',
          'Brownout: `pipectl breaker open --model <id>` to stop waiting on the slow model; close it when latency is back.',
          '`pipectl pause` while you work; `pipectl resume` after.',
        ],
        doNotAutomate:
          'Do not auto-raise the function timeout: the visibility timeout must stay at least 6 x the timeout (checked at synth), and a longer timeout only hides a hang.',
        verifyRecovery: ['No new Errors for 3 minutes; the alarm returns to OK.', `${STATUS}: input depth falling, no growth in the DLQ.`],
        escalate: 'Errors persisting after a rollback: the pipeline owners. Runtime or service errors unrelated to our code: AWS Support.',
      },
    },
    {
      id: 'processor-throttles',
      title: 'Processor throttled by Lambda',
      severity: 'ticket',
      summary: 'Lambda throttled the processor for several minutes: the account or function concurrency is exhausted.',
      signal: { kind: 'metric', metric: lambda('Throttles', 'Sum', 'Count', 'processor throttles') },
      periodSeconds: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.processorThrottlesPerMinute,
      thresholdUnit: 'throttles/min',
      treatMissingData: 'notBreaching',
      rationale:
        'The SQS event source backs off and retries throttled batches, so throttling delays work but loses nothing; the SLA-age alarm pages if the delay matters. Sustained throttling is a capacity ticket.',
      runbook: {
        meaning:
          "Lambda refused to start processor invocations because a concurrency limit was reached (the account's, or a reserved concurrency on this or another function).",
        impact: 'Throughput drops; latency rises. Nothing is lost: the event source retries.',
        firstFiveMinutes: [
          `${STATUS}: is the input age approaching the SLA? If not, this can wait for working hours.`,
          'Check which functions in the account use concurrency (Lambda console, ConcurrentExecutions by function).',
          triage('processor-throttles'),
        ],
        diagnosis: {
          data: 'A burst of input (one large job) with everything else normal: the pipeline is doing its job at its bound.',
          infrastructure: 'Another workload in the account took the unreserved concurrency; or the account limit is low (new accounts start at 10).',
          model: 'Not the model: slow model calls raise concurrency per message only up to the event source maxConcurrency.',
        },
        remediations: [
          'Ask for a higher account concurrency limit (Service Quotas).',
          'Reserve concurrency for the processor at least equal to the event source maxConcurrency.',
        ],
        doNotAutomate: 'Do not auto-raise maxConcurrency to compensate: it is the bound that protects the model provider and the budget.',
        verifyRecovery: ['Throttles at 0 for 5 minutes; the alarm returns to OK.'],
        escalate: 'The account owner for limits; AWS Support for a quota increase.',
      },
    },
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
    {
      id: 'fallback-rate',
      title: 'Fallback rate high',
      severity: 'ticket',
      summary: 'A large share of results were served below the primary tier (secondary model, rules, human review).',
      signal: {
        kind: 'math',
        label: 'results below the primary tier (%)',
        unit: 'Percent',
        expression: math.if(
          math.compare(math.add(math.fill('completed'), math.fill('escalated')), '>=', t.rateMinimumSamples),
          math.divide(math.multiply(100, math.fill('fallbacks')), math.add(math.fill('completed'), math.fill('escalated'))),
          0,
        ),
        metrics: { fallbacks: pipeline(METRIC.FALLBACKS, 'Sum', 'Count', 'fallbacks'), ...served },
      },
      periodSeconds: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.fallbackRatePercent,
      thresholdUnit: '%',
      treatMissingData: 'notBreaching',
      rationale:
        'Fallbacks are the pipeline working as designed; a high share for several minutes means quality is degraded and someone should know, not that someone must wake up.',
      runbook: {
        meaning: "Many results come from the secondary model, the task's rules or human review instead of the primary model.",
        impact: 'Answers are of lower quality (rules) or delayed (human review).',
        firstFiveMinutes: [
          `${STATUS}: breaker state and completions by tier.`,
          'Which alarm explains it: model-error-rate, validation-failure-rate, breaker-open, budget-*?',
          triage('fallback-rate'),
        ],
        diagnosis: {
          data: 'Low-confidence answers on a new kind of input route down the chain: drift-* alarms or `pipectl drift` show the input shift.',
          infrastructure: 'The breaker is open or the budget is spent: fallbacks are the designed response; fix the cause.',
          model: "Validation failures or low confidence without errors: the model's behaviour changed.",
        },
        remediations: [
          'Address the cause alarm; fallbacks stop by themselves.',
          'Drain human review: `pipectl review list`, `pipectl review resolve <key> --result <json>`.',
        ],
        doNotAutomate:
          'Do not auto-lower the confidence threshold to push results back to the primary tier: that trades a visible quality drop for an invisible one.',
        verifyRecovery: ['Completions by tier back to mostly primary; the alarm returns to OK.'],
        escalate: 'The task owner if quality must be restored faster than the cause can be fixed.',
      },
    },
    {
      id: 'review-backlog-age',
      title: 'Human-review backlog getting old',
      severity: 'ticket',
      summary: 'The oldest record waiting for human review is older than the stage allows.',
      signal: { kind: 'metric', metric: sqs('ApproximateAgeOfOldestMessage', 'reviewQueue', 'Maximum', 'Seconds', 'age of oldest review message') },
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.reviewBacklogAgeSeconds,
      thresholdUnit: 's',
      treatMissingData: 'notBreaching',
      rationale: 'Humans work in hours, not minutes: a 5-minute period is plenty, and the age itself is the sustained signal.',
      runbook: {
        meaning: 'Records escalated to human review have waited longer than the stage allows.',
        impact: 'Those inputs have no result until someone resolves them; jobs stay incomplete.',
        firstFiveMinutes: ['`pipectl review list`: how many, which tasks, why they escalated.', triage('review-backlog-age')],
        diagnosis: {
          data: 'Many escalations with the same reason on similar inputs: a gap in the prompt or the rules.',
          infrastructure: 'Escalations because the breaker or budget pushed records down the chain: see those alarms.',
          model: 'Low-confidence or invalid answers across the board: see validation-failure-rate and drift-*.',
        },
        remediations: [
          'Resolve items: `pipectl review resolve <key> --result <json>` (validated against the task schema, written to the ledger as tier human).',
        ],
        doNotAutomate: 'Do not auto-resolve review items with the rules tier: they were escalated because the automatic tiers could not answer.',
        verifyRecovery: ['`pipectl review list` shrinking; the alarm returns to OK when the oldest item is younger than the threshold.'],
        escalate: 'The team that owns the review rota.',
      },
    },
    {
      id: 'breaker-open',
      title: 'Model circuit breaker open',
      severity: 'ticket',
      summary: "A model's circuit breaker has refused calls for several consecutive minutes.",
      signal: { kind: 'metric', metric: pipeline(METRIC.BREAKER_OPEN, 'Maximum', 'None', 'breaker open (1 = refusing)') },
      periodSeconds: 60,
      evaluationPeriods: t.breakerOpenMinutes,
      datapointsToAlarm: t.breakerOpenMinutes,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
      thresholdUnit: '(1 = open)',
      treatMissingData: 'notBreaching',
      rationale:
        'An open breaker is the pipeline protecting itself; a short open/half-open cycle is normal. Open for several minutes means the model is down: a ticket, while model-error-rate or input-age-over-sla page if users are hurt.',
      runbook: {
        meaning:
          'The shared breaker of a model is open: calls to it are refused and records go to the next tier (or are deferred) until a half-open probe succeeds.',
        impact: 'Lower-tier answers or deferred records while it is open.',
        firstFiveMinutes: [
          '`pipectl breaker status`: which model, since when, the last failures.',
          "Check the provider's status page.",
          triage('breaker-open'),
        ],
        diagnosis: {
          data: 'Not data: bad input is rejected before any model call.',
          infrastructure: 'Opened after AccessDenied or quota errors: credentials, IAM or the account quota.',
          model: 'Opened after 5xx/timeouts: the provider is down or browning out.',
        },
        remediations: [
          'Wait for the half-open probe to close it; `pipectl breaker close --model <id>` forces it closed once the provider is healthy (break-glass).',
        ],
        doNotAutomate: 'Do not auto-close the breaker on a timer: the probe already does that safely, one call at a time.',
        verifyRecovery: ['`pipectl breaker status` closed; BreakerOpen gone from the dashboard; the alarm returns to OK.'],
        escalate: "Open beyond an hour: the provider's support.",
      },
    },
    {
      id: 'budget-warning',
      title: 'Hourly budget at warning level',
      severity: 'ticket',
      summary: "The hour's token/cost budget is nearly used up.",
      signal: { kind: 'metric', metric: pipeline(METRIC.BUDGET_USED_PERCENT, 'Maximum', 'Percent', 'budget used (%)') },
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.budgetWarnPercent,
      thresholdUnit: '%',
      treatMissingData: 'notBreaching',
      rationale: 'The budget is counted per hour; one 5-minute look is enough to warn before it runs out.',
      runbook: {
        meaning: "Spend in the current hour is close to the stage's budget; past 100% the primary model is skipped.",
        impact: 'None yet. If it runs out, answers come from lower tiers until the hour turns.',
        firstFiveMinutes: [`${STATUS}: budget used, and which job is sending.`, '`pipectl jobs`: is this a planned backfill?', triage('budget-warning')],
        diagnosis: {
          data: 'A large job or a producer re-sending (duplicates are free: check duplicates skipped vs received).',
          infrastructure: 'Retries multiplying calls (model-error-rate up): each retry costs tokens.',
          model: 'Tokens per call up with the same traffic: longer answers after a model change.',
        },
        remediations: ['Ask the producer to pace the job.', 'Raise the budget in the stage config if the spend is planned (a deploy).'],
        doNotAutomate: 'Do not auto-raise the budget: it is the cap that keeps a runaway loop from becoming a bill.',
        verifyRecovery: ['The next hour starts under the warning level; the alarm returns to OK.'],
        escalate: 'Whoever owns the spend for this stage.',
      },
    },
    {
      id: 'budget-exhausted',
      title: 'Hourly budget exhausted',
      severity: 'page',
      summary: "The hour's token/cost budget is used up: the primary model is being skipped.",
      signal: { kind: 'metric', metric: pipeline(METRIC.BUDGET_USED_PERCENT, 'Maximum', 'Percent', 'budget used (%)') },
      periodSeconds: 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.budgetExhaustedPercent,
      thresholdUnit: '%',
      treatMissingData: 'notBreaching',
      rationale: 'Once the budget is spent every record degrades at once, so one minute is enough; the warning ticket came first.',
      runbook: {
        meaning: "The hour's budget is spent: records are served by the rules, sent to review, or deferred until the hour turns, per the stage config.",
        impact: 'Lower-quality or delayed answers for everything until the next hour.',
        firstFiveMinutes: [
          `${STATUS}: budget, completions by tier, input age.`,
          '`pipectl jobs`: which job is spending. If a runaway producer or a retry loop is spending it, `pipectl pause` stops the spend (messages wait; `pipectl resume` undoes it).',
          triage('budget-exhausted'),
        ],
        diagnosis: {
          data: 'One job far larger than usual, or a producer sending the same inputs with a changing field (each looks new to the idempotency key).',
          infrastructure: 'Model errors and retries multiplying calls.',
          model: 'Tokens per call jumped: a model or prompt change made answers longer.',
        },
        remediations: [
          'Pause until the hour turns if the work can wait: `pipectl pause`, then `pipectl resume`.',
          'Raise the budget in the stage config if the spend is legitimate.',
        ],
        doNotAutomate: 'Do not auto-raise the budget or bypass it: that is exactly the runaway it exists to stop.',
        verifyRecovery: ['The next hour starts with the budget under the warning level; completions by tier back to primary.'],
        escalate: 'The spend owner before raising the budget.',
      },
    },
    {
      id: 'dlq-has-messages',
      title: 'Input DLQ has messages',
      severity: 'ticket',
      summary: 'The input dead-letter queue holds messages: rejected bad input, or records out of receives.',
      signal: { kind: 'metric', metric: sqs('ApproximateNumberOfMessagesVisible', 'inputDlq', 'Maximum', 'Count', 'input DLQ messages') },
      periodSeconds: 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.dlqMessages,
      thresholdUnit: 'messages',
      treatMissingData: 'notBreaching',
      rationale:
        'Any message without a result must be seen, so one message is enough; but a poison message from a producer is not worth waking anyone, so it is a ticket. A mass failure pages through processor-silent, processor-errors or model-error-rate.',
      runbook: {
        meaning:
          'Messages are in the input DLQ: input the processor rejected on its first receive (with a FailureReason such as NOT_JSON, INVALID_INPUT, UNKNOWN_TASK, HOSTILE_KEY, TOO_LARGE), or messages that failed maxReceiveCount times (MAX_RECEIVES_EXCEEDED).',
        impact: 'Those inputs have no result; their jobs stay incomplete. Everything else keeps flowing.',
        firstFiveMinutes: [
          `${STATUS}: is the DLQ growing fast or a trickle? Is anything else in ALARM?`,
          '`pipectl dlq list`: messages grouped by failure reason.',
          '`pipectl dlq show <message id>`: one sample per reason, with its ledger context.',
          'Only if one class is growing fast because of a pipeline fault: `pipectl pause` stops messages from burning their receives (`pipectl resume` undoes it).',
          triage('dlq-has-messages'),
        ],
        diagnosis: {
          data: 'Rejection reasons (NOT_JSON, INVALID_ENVELOPE, UNKNOWN_TASK, INVALID_INPUT, HOSTILE_KEY, TOO_LARGE, TOO_DEEP) are bad input from a producer; they fail again if redriven.',
          infrastructure:
            'MAX_RECEIVES_EXCEEDED: retryable failures ran out of receives — throttling, DynamoDB errors, timeouts. Look at the other alarms of the same hour.',
          model:
            'Model trouble rarely dead-letters: invalid output falls back to rules or review. MAX_RECEIVES_EXCEEDED together with model-error-rate means the outage outlasted the retry budget.',
        },
        remediations: [
          'Fixed a pipeline fault: `pipectl dlq redrive --reason MAX_RECEIVES_EXCEEDED --dry-run`, then without `--dry-run`; already-completed keys are skipped by the ledger.',
          'Bad input: hand `pipectl dlq list` to the producer; do not redrive it.',
        ],
        doNotAutomate: "Do not auto-redrive: poison messages would loop, spend budget and hide the producer's bug. A human picks the failure class to redrive.",
        verifyRecovery: [
          '`pipectl dlq list` shows no new messages of the class you fixed.',
          'The alarm returns to OK when the DLQ is empty (redriven, or removed once the producer resends).',
        ],
        escalate: 'Bad input: the producing team. Out-of-receives failures still arriving after the fix: the pipeline owners.',
      },
    },
    {
      id: 'review-dlq-has-messages',
      title: 'Review DLQ has notifications',
      severity: 'ticket',
      summary: 'Review notifications were received maxReceiveCount times and moved to the review DLQ: a consumer is reading the review queue without deleting.',
      signal: { kind: 'metric', metric: sqs('ApproximateNumberOfMessagesVisible', 'reviewDlq', 'Maximum', 'Count', 'review DLQ messages') },
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
      thresholdUnit: 'messages',
      treatMissingData: 'notBreaching',
      rationale:
        'What is in review is the ledger (IN_REVIEW items), so nothing is lost when a notification moves; but something receives review notifications without deleting them, ' +
        'which is worth a ticket. `pipectl review` never receives to list, and resolving receives each other notification at most once.',
      runbook: {
        meaning:
          "Messages reached the human-review queue's dead-letter queue: each was received as many times as the review queue's maxReceiveCount. The items themselves are still IN_REVIEW in the ledger.",
        impact:
          'None on the items (`pipectl review list` reads the ledger and still shows them); a tool that relies on the review queue as its inbox no longer sees them.',
        firstFiveMinutes: [
          `\`pipectl review list --stage ${stage}\`: the items in review, from the ledger; they are all still there.`,
          'Find what receives from the review queue (CloudTrail data events on the queue, or the consumers your team runs): a reader that never deletes drains it into the DLQ.',
          triage('review-dlq-has-messages'),
        ],
        diagnosis: {
          data: "Not a data problem: the notification bodies are the processor's own.",
          infrastructure:
            'A consumer receives without deleting (a dashboard, a script that "peeks"), or the review queue\'s maxReceiveCount was lowered in the stage config.',
          model: 'Not the model.',
        },
        remediations: [
          'Stop the consumer that receives without deleting.',
          'Resolve the items with `pipectl review resolve <key> --result <json>`; then purge the review DLQ, whose notifications point at resolved items.',
        ],
        doNotAutomate: 'Do not redrive the review DLQ automatically into the review queue: the same consumer would drain it again.',
        verifyRecovery: ['The review DLQ stays empty for a day; `pipectl review list` shows what you expect.'],
        escalate: 'The team that owns the consumer of the review queue.',
      },
    },
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
    {
      id: 'incomplete-job',
      title: 'Job incomplete past its deadline',
      severity: 'page',
      summary: 'Jobs past their deadline have items with no outcome (neither completed, dead-lettered nor in review).',
      signal: { kind: 'metric', metric: pipeline(METRIC.INCOMPLETE_JOB_ITEMS, 'Maximum', 'Count', 'incomplete job items', METRIC_SERVICE.RECONCILER) },
      periodSeconds: config.completeness.scheduleMinutes * 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanThreshold',
      threshold: t.incompleteJobItems,
      thresholdUnit: 'items',
      treatMissingData: 'missing',
      rationale:
        'One period per reconciler run, and the reconciler publishes on every run (0 included). No data means no run: INSUFFICIENT_DATA, not a held state; ' +
        'reconciler-heartbeat pages for the stopped reconciler. Any missing item is a silent loss: it pages.',
      runbook: {
        meaning:
          'The reconciler found registered jobs past their deadline where completed + dead-lettered + in review is less than what was sent: items went missing or are stuck (IN_PROGRESS with an expired lease).',
        impact: 'A producer is missing results and may not know it. 9,999 of 10,000 is not OK.',
        firstFiveMinutes: [
          '`pipectl jobs`: which jobs, how many missing, how many stuck.',
          '`pipectl jobs <job id>`: the missing and stuck items.',
          `${STATUS}: is the input queue still holding them (late, not lost)?`,
          triage('incomplete-job'),
        ],
        diagnosis: {
          data: 'The producer registered more than it sent (a crashed sender): the items were never on the queue. `pipectl send` is resumable; re-run it.',
          infrastructure:
            'Items still on the input queue: the pipeline is late (see input-age-over-sla), not lossy. Stuck IN_PROGRESS items: invocations died mid-record; the lease expiry will let them be retried.',
          model: 'Not the model: a model failure ends in a fallback, review or the DLQ, each of which counts as an outcome.',
        },
        remediations: [
          "Re-send the job's file with `pipectl send` (idempotent: completed inputs are skipped).",
          'Redrive the DLQ class that holds them once fixed: `pipectl dlq redrive --reason <class> --dry-run`.',
        ],
        doNotAutomate:
          'Do not auto-resend missing items from the ledger: only the producer knows the inputs that never arrived, and resending guesses duplicates nothing but may resend what was meant to be dropped.',
        verifyRecovery: [
          '`pipectl jobs <job id>` shows sent = completed + dead-lettered + in review.',
          'The next reconciler run publishes 0 and the alarm returns to OK.',
        ],
        escalate: 'The producing team if the items were never sent; the pipeline owners if they were and are gone.',
      },
    },
    {
      id: 'drift-warning',
      title: 'Input/output drift (ticket level)',
      severity: 'ticket',
      summary: 'The largest per-feature drift score (PSI) reached the ticket level: the last window moved away from the baseline.',
      signal: { kind: 'metric', metric: pipeline(METRIC.DRIFT_SCORE, 'Maximum', 'None', 'drift score (max PSI)', METRIC_SERVICE.DRIFT_MONITOR) },
      periodSeconds: driftPeriodSeconds,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.driftTicket,
      thresholdUnit: 'PSI',
      treatMissingData: 'missing',
      rationale:
        'One period per drift-monitor run, so every run lands in its own period. Below the minimum sample the monitor publishes no score: missing data is missing, so the alarm leaves ALARM ' +
        '(INSUFFICIENT_DATA: not measured) instead of holding it on quiet traffic, and a later drift notifies again. PSI 0.1 is the usual "moderate shift, look at it" line.',
      runbook: driftRunbook('drift-warning'),
    },
    {
      id: 'drift-critical',
      title: 'Input/output drift (paging level)',
      severity: 'page',
      summary: 'The largest per-feature drift score (PSI) reached the paging level: a major shift in what the pipeline sees or answers.',
      signal: { kind: 'metric', metric: pipeline(METRIC.DRIFT_SCORE, 'Maximum', 'None', 'drift score (max PSI)', METRIC_SERVICE.DRIFT_MONITOR) },
      periodSeconds: driftPeriodSeconds,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.driftPage,
      thresholdUnit: 'PSI',
      treatMissingData: 'missing',
      rationale:
        'PSI 0.25 is the usual "significant shift" line: answers may be systematically wrong without a single error. One period per drift run; a run with too few items ' +
        'publishes nothing, which is INSUFFICIENT_DATA (missing), never a held ALARM.',
      runbook: driftRunbook('drift-critical'),
    },
    {
      id: 'serving-mix-shift',
      title: 'Serving mix moved (answers from other tiers)',
      severity: 'ticket',
      summary:
        'The share of records served by each tier (primary, secondary, rules, human) moved away from the baseline: the pipeline is degrading, the data may be fine.',
      signal: {
        kind: 'metric',
        metric: pipeline(
          METRIC.DRIFT_SCORE,
          'Maximum',
          'None',
          'serving-mix shift (PSI of the serving tier)',
          METRIC_SERVICE.DRIFT_MONITOR,
          DRIFT_SERVING_MIX_FEATURE,
        ),
      },
      periodSeconds: driftPeriodSeconds,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.driftPage,
      thresholdUnit: 'PSI',
      treatMissingData: 'missing',
      rationale:
        'The serving tier is scored on every record and kept out of drift-warning/drift-critical, which score only what the models served: an outage that moves ' +
        'serving to the rules tier shows here, named as what it is, not as data drift. A ticket: the alarms on the cause (model-error-rate, breaker-open, budget) page.',
      runbook: {
        meaning: 'The drift monitor found the tiers serving records distributed unlike the baseline: more answers from rules or review, fewer from the models.',
        impact: 'Answers are valid but come from a fallback: usually less precise (rules) or slower (review).',
        firstFiveMinutes: [
          `\`pipectl status --stage ${stage}\`: breaker state, budget, completions by tier.`,
          'Which alarm explains it: model-error-rate, breaker-open, budget-*, fallback-rate? That one is the cause; this is its effect on the answers.',
          triage('serving-mix-shift'),
        ],
        diagnosis: {
          data: 'Not the data: the data features are scored on model-served records only (drift-warning, drift-critical).',
          infrastructure: 'The breaker is open or the budget is spent: records are pushed down the chain.',
          model: 'The model fails or answers invalid output more often: validation-failure-rate, model-error-rate.',
        },
        remediations: ['Fix the cause named by the other alarms; the mix returns when the models serve again.'],
        doNotAutomate: 'Do not re-baseline on a serving-mix shift: the baseline describes a healthy pipeline.',
        verifyRecovery: ['The next drift run scores the serving tier under the threshold.'],
        escalate: 'As for the alarm that names the cause.',
      },
    },
    canaryAlarm(config, triage), // change safety (issue 15): lib/observability/canary-alarms.ts
    ...quotaAlarms(config, { pipeline, sqs }), // provider quota (issue 14): lib/observability/quota-alarms.ts
    ...entityLoopAlarms(config, pipeline),
  ];
  const monitors = [
    ...monitorAlarms(
      {
        id: 'reconciler',
        service: METRIC_SERVICE.RECONCILER,
        resource: 'reconciler',
        scheduleMinutes: config.completeness.scheduleMinutes,
        watches: 'incomplete-job',
        stage,
      },
      lambda,
      pipeline,
    ),
    ...monitorAlarms(
      {
        id: 'drift-monitor',
        service: METRIC_SERVICE.DRIFT_MONITOR,
        resource: 'driftMonitor',
        scheduleMinutes: config.drift.scheduleMinutes,
        watches: 'drift-warning and drift-critical',
        stage,
      },
      lambda,
      pipeline,
    ),
  ];
  // Only what the stage can produce: the processor publishes BudgetUsedPercent only when a token
  // or USD limit is set (batch-processor.ts, `budget.limited`), so without one the budget alarms
  // could never leave INSUFFICIENT_DATA/OK and would only suggest a guard that is not there.
  const budgetSet = config.budget.tokensPerHour > 0 || config.budget.usdPerHour > 0;
  const applicable = definitions.filter((alarm) => budgetSet || !BUDGET_ALARM_IDS.has(alarm.id));
  const alarms: AlarmDefinition[] = [...applicable, ...monitors].map((alarm) => ({ ...alarm, name: `${prefix}${alarm.id}` }));

  const composite: CompositeAlarmDefinition = {
    id: COMPOSITE_ALARM_ID,
    name: `${prefix}${COMPOSITE_ALARM_ID}`,
    title: 'Pipeline unhealthy',
    severity: 'page',
    summary: 'At least one paging alarm is in ALARM. A summary for the dashboard: it notifies nobody, each paging alarm pages on its own.',
    children: alarms.filter((alarm) => alarm.severity === 'page').map((alarm) => alarm.id),
    runbook: {
      meaning:
        'One or more paging alarms are in ALARM. This composite alarm only summarises them on the dashboard. Each paging alarm pages by itself (and files a ticket), because CloudWatch notifies on state transitions only: a paging composite already in ALARM would swallow a second, unrelated incident. A cascade therefore pages once per alarm that fires; the first page names the likely cause.',
      impact: "See the child alarm's section: the notification lists the alarms that triggered it.",
      firstFiveMinutes: [
        `${STATUS}: every alarm in ALARM, the breaker, the budget, and whether the mapping is paused.`,
        'Open the section of the earliest child alarm (`pipectl runbook <alarm id>`): the first to fire is usually the cause, the rest are symptoms.',
        triage(COMPOSITE_ALARM_ID),
      ],
      diagnosis: {
        data: 'Only incomplete-job or drift-critical in ALARM, error and latency rates flat: something changed in what producers send.',
        infrastructure: 'processor-silent, processor-errors or input-age-over-sla with the model healthy: our stack or AWS.',
        model: "model-error-rate or drift-critical first: the provider or the model's behaviour.",
      },
      remediations: ["Follow the child alarm's section. `pipectl pause` / `pipectl resume` and `pipectl breaker open|close` are the reversible levers."],
      doNotAutomate: 'Do not auto-acknowledge or silence the composite: it goes back to OK by itself when every child does.',
      verifyRecovery: ['Every child back to OK (`pipectl status`); each paging child sends its OK to the page topic.'],
      escalate: 'Per the child alarm; if several unrelated children fire, call the pipeline owners.',
    },
  };

  return {
    stage,
    stackName,
    alarmNamePrefix: prefix,
    runbookBaseUrl: config.observability.runbookBaseUrl,
    alarms,
    composite,
    dashboard: [
      ...buildDashboard(alarms, pipeline, sqs, lambda, stage, budgetSet),
      ...quotaDashboard(config, alarms, { pipeline, sqs }),
      canaryDashboardRow(config),
      shadowDashboardRow(config),
    ], // quota rows: quota-alarms.ts; canary and shadow rows: canary-alarms.ts
  };
}

/** The alarms that exist only when the stage sets a budget. */
const BUDGET_ALARM_IDS: ReadonlySet<string> = new Set(['budget-warning', 'budget-exhausted']);

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

function driftRunbook(id: string): RunbookText {
  return {
    meaning:
      'The drift monitor compared the last window of ledger items with the pinned baseline: at least one feature (input length bucket, customer tier, output category, priority, confidence decile, serving tier) is distributed differently.',
    impact: 'Possibly none, possibly answers that are systematically wrong without a single error: drift is the failure no error rate shows.',
    firstFiveMinutes: [
      '`pipectl drift`: the per-feature table, the baseline window and the bins that moved most.',
      'Input features moved (length, customer tier): what producers send changed. Output features moved with inputs flat (category, priority, confidence, tier): the model changed.',
      'The pipeline pauses nothing for drift by default. Pause (`pipectl pause`) only if wrong answers cost more than late ones.',
      triage(id),
    ],
    diagnosis: {
      data: 'Input features shifted: a new producer, a new market, a seasonal topic, a backfill of old tickets. The model may be answering correctly.',
      infrastructure: 'Serving-tier feature shifted towards rules/human: the breaker or budget is pushing records down the chain (see those alarms).',
      model: 'Output features shifted while inputs held: the provider updated the model, or a prompt change went out. Compare with the deploy history.',
    },
    remediations: [
      'A legitimate new normal: pin a new baseline with `pipectl drift baseline --from <start> --to <end>` after checking a sample of answers.',
      'A model change: pin the previous model version in the stage config and redeploy.',
    ],
    doNotAutomate:
      'Do not enable the opt-in auto-pause on drift for a stage whose traffic mix changes legitimately (launches, seasons): it would stop the pipeline for business as usual. Do not auto-rebaseline: that makes any drift invisible.',
    verifyRecovery: [
      'The next drift window publishes scores under the threshold and the alarm returns to OK.',
      '`pipectl drift` shows the moved bins back near the baseline.',
    ],
    escalate: 'The task owner for a model or prompt change; the producing team for an input change they did not announce.',
  };
}

/** A scheduled monitor, as {@link monitorAlarms} watches it. */
interface ScheduledMonitor {
  /** The alarm id prefix, e.g. `reconciler`. */
  readonly id: string;
  readonly service: MetricService;
  readonly resource: ResourceRole;
  readonly scheduleMinutes: number;
  /** The alarms that go blind when it stops, for the runbook. */
  readonly watches: string;
  readonly stage: string;
}

/**
 * What watches a scheduled function: its heartbeat (a run that did its work publishes
 * `MonitorHeartbeat`), and Lambda's own Errors and Throttles for it. A monitor that stops — its
 * schedule disabled, its function failing or throttled, its role broken — publishes nothing,
 * and every alarm on what it measures goes quiet with it; the heartbeat is what pages then.
 */
function monitorAlarms(monitor: ScheduledMonitor, lambda: LambdaMetricFactory, pipeline: PipelineMetricFactory): Array<Omit<AlarmDefinition, 'name'>> {
  const { id, stage } = monitor;
  // Two schedule intervals: every such period holds at least one run of a healthy monitor, whatever the phase of its schedule.
  const heartbeatPeriod = Math.max(2 * monitor.scheduleMinutes * 60, 300);
  const runsEvery = `every ${monitor.scheduleMinutes} min`;
  const logs = `the ${id} log group (CloudWatch Logs Insights: \`filter level = "ERROR" | sort @timestamp desc | limit 20\`)`;
  const common = {
    impact: `While ${id} does not run, ${monitor.watches} cannot fire: what it measures goes unwatched.`,
    doNotAutomate: `Do not auto-invoke ${id} in a loop to silence the alarm: a run that fails again only hides why.`,
  };
  return [
    {
      id: `${id}-heartbeat`,
      title: `${id}: no heartbeat`,
      severity: 'page',
      summary: `The scheduled ${id} (${runsEvery}) has not finished a run in ${heartbeatPeriod / 60} min: it is stopped, failing or not scheduled.`,
      // FILL(beats, 0): a period without a heartbeat is a 0, which breaches at once. Without it the
      // alarm would see "missing" periods, and CloudWatch applies the missing-data treatment only
      // when the evaluation range (which reaches back beyond the evaluation periods) holds fewer
      // real datapoints than it needs, so an older heartbeat would keep it OK for longer. If FILL
      // returns nothing because the whole range has no heartbeat, the result is missing, which
      // is breaching here: either way the alarm fires.
      signal: {
        kind: 'math',
        label: `${id} heartbeats (missing = 0)`,
        unit: 'Count',
        expression: math.fill('beats', 0),
        metrics: { beats: pipeline(METRIC.MONITOR_HEARTBEAT, 'Sum', 'Count', `${id} heartbeats`, monitor.service) },
      },
      periodSeconds: heartbeatPeriod,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'LessThanThreshold',
      threshold: 1,
      thresholdUnit: 'runs',
      treatMissingData: 'breaching',
      rationale:
        `The monitor publishes one heartbeat per finished run, ${runsEvery}; a period of two intervals always holds one. A period without one is filled with 0 and breaches; ` +
        'missing data (no heartbeat in the whole range) is the signal itself: breaching.',
      runbook: {
        meaning: `No run of the ${id} finished in the last ${heartbeatPeriod / 60} minutes. ${monitor.watches} read what it publishes, so they are blind until it runs again.`,
        ...common,
        firstFiveMinutes: [
          `\`pipectl status --stage ${stage}\`: are ${id}-errors or ${id}-throttles in ALARM too?`,
          `Is its EventBridge schedule enabled (console: EventBridge rules of the stack)? A disabled rule is the usual cause after maintenance.`,
          `Read ${logs}.`,
          triage(`${id}-heartbeat`),
        ],
        diagnosis: {
          data: 'Not the data: a run publishes its heartbeat whatever it finds.',
          infrastructure: `Errors in its log (permissions, the ledger or control table throttling, a timeout): ${id}-errors is usually in ALARM too. No invocations at all: the schedule is disabled or deleted.`,
          model: 'Not the model: the monitors call no model.',
        },
        remediations: [
          'Re-enable the schedule, or redeploy the stack (`cdk deploy`), which restores it.',
          'Fix the error its log shows; invoke it once by hand (Lambda console, Test) to confirm.',
        ],
        verifyRecovery: [`The next run publishes a heartbeat and the alarm returns to OK within ${heartbeatPeriod / 60} minutes.`],
        escalate: 'The pipeline owners.',
      },
    },
    ...(
      [
        ['errors', 'Errors', 'failed', 'A run that throws publishes no heartbeat and no metrics.'],
        ['throttles', 'Throttles', 'was throttled', 'Throttled scheduled invocations are retried by EventBridge for a while, then dropped.'],
      ] as const
    ).map(([suffix, metricName, verb, why]) => ({
      id: `${id}-${suffix}`,
      title: `${id}: Lambda ${metricName.toLowerCase()}`,
      severity: 'ticket' as const,
      summary: `An invocation of the scheduled ${id} ${verb}.`,
      signal: { kind: 'metric' as const, metric: lambda(metricName, 'Sum', 'Count', `${id} ${metricName.toLowerCase()}`, monitor.resource) },
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold' as const,
      threshold: 1,
      thresholdUnit: metricName.toLowerCase(),
      treatMissingData: 'notBreaching' as const,
      rationale: `${why} Lambda reports ${metricName} only for invocations that happen, so a quiet period is not a failure: not breaching. The heartbeat pages if runs stop altogether.`,
      runbook: {
        meaning: `Lambda reports ${metricName} for the ${id} function.`,
        ...common,
        firstFiveMinutes: [`Read ${logs}.`, triage(`${id}-${suffix}`)],
        diagnosis: {
          data: 'A malformed job or baseline item in the control table can make every run fail the same way: the log names it.',
          infrastructure:
            suffix === 'errors'
              ? 'Permissions, a timeout (the run reads more than its time allows), or DynamoDB throttling.'
              : "The account's concurrency is exhausted by other functions.",
          model: 'Not the model.',
        },
        remediations:
          suffix === 'errors'
            ? ["Fix what the log shows; raise the monitor's timeout or memory in the stage config if it runs out."]
            : ['Reserve concurrency for the monitor, or raise the account limit.'],
        verifyRecovery: [`No ${metricName.toLowerCase()} for 5 minutes; ${id}-heartbeat is OK.`],
        escalate: 'The pipeline owners.',
      },
    })),
  ];
}

type PipelineMetricFactory = (
  name: PipelineMetricName,
  statistic: Statistic,
  unit: MetricUnit,
  label: string,
  service?: string,
  feature?: string,
) => MetricQuery;
type SqsMetricFactory = (name: string, resource: ResourceRole, statistic: Statistic, unit: MetricUnit, label: string) => MetricQuery;
type LambdaMetricFactory = (name: string, statistic: Statistic, unit: MetricUnit, label: string, resource?: ResourceRole) => MetricQuery;

/** The dashboard's rows. Alarm thresholds are drawn from the same definitions the alarms use. */
function buildDashboard(
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
