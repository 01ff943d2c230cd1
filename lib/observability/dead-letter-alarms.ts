import type { StageConfig } from '../config/stage-types';
import { type AlarmEntry, type CatalogMetrics, STATUS, triage } from './alarm-family';

/*
 * Dead letters (DESIGN.md data flow: redrive after maxReceiveCount, and the human-review queue's
 * own DLQ): a message no retry could process, or a review notification that could not be delivered.
 */

/** The dead-letter queues' alarms, in catalog order. */
export function deadLetterAlarms(config: StageConfig, metrics: CatalogMetrics): AlarmEntry[] {
  const t = config.observability.alarms;
  const stage = config.stage;
  const { sqs } = metrics;

  return [
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
  ];
}
