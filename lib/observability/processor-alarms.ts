import { METRIC } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import { type AlarmEntry, type CatalogMetrics, STATUS, triage } from './alarm-family';
import { math } from './metric-math';

/*
 * The processor keeping up with the input queue (DESIGN.md data flow: the event source mapping and
 * the Processor Lambda): the oldest message's age against the SLA, a processor that finishes
 * nothing, and whole invocations that fail or are throttled.
 */

/** The processor's alarms, in catalog order. */
export function processorAlarms(config: StageConfig, metrics: CatalogMetrics): AlarmEntry[] {
  const t = config.observability.alarms;
  const { pipeline, sqs, lambda, served } = metrics;

  return [
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
  ];
}
