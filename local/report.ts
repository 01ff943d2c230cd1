import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import type { ModelPrice } from '../lambda/resilience/budget';
import { type ShadowReport, shadowReport } from './shadow-report';
import { GetQueueAttributesCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { CONTROL, ENTITY, ENV, LEDGER, LEDGER_STATUS, MESSAGE_ATTRIBUTE, METRIC } from '../lambda/contract';
import { keyOfMessageBody } from '../lambda/processor/message-parser';
import type { LocalAlarmState } from './alarm-evaluator';
import type { InfraFaultCounts } from './aws-boundary/infra-fault-spec';
import type { LocalPipeline } from './local-pipeline';
import { MONITOR_NAMES } from './scheduled-monitors';
import type { FaultSpec } from './model-simulator/fault-spec';
import type { ModelSimulatorStats } from './model-simulator/model-simulator';

/** The report of a local run; DESIGN.md, "Local mode", lists its required fields. */
export interface LocalRunReport {
  readonly sent: number;
  /** Distinct keys among the sent messages: duplicates (same input, any formatting) count once. */
  readonly unique: number;
  readonly completed: number;
  readonly deadLettered: number;
  readonly inReview: number;
  /** Keys dead-lettered because the input was bad (a subset of deadLettered). */
  readonly rejected: number;
  readonly duplicatesSkipped: number;
  readonly modelCalls: number;
  /** `reused`: completed with an entity's earlier decision (a small edit, issue 16), no model call. */
  readonly byTier: { primary: number; secondary: number; rules: number; human: number; reused: number };
  /** Entities (the envelope's `entityId`) as the control table holds them at the end (issue 16). */
  readonly entities: EntityReport;
  /** The shadow run (issue 15): baseline and candidate side by side; absent when no record was sampled. */
  readonly shadow?: ShadowReport;
  /**
   * Every alarm of the catalog (the composite first) with its final state, when it first fired and
   * its runbook section, as local/alarm-evaluator.ts evaluated them over this run.
   */
  readonly alarms: readonly LocalAlarmState[];
  readonly apiCalls: { 'dynamodb.read': number; 'dynamodb.write': number; sqs: number; cloudwatch: number };
  readonly invariantHolds: boolean;
  /** Why the invariant does not hold (empty when it does). */
  readonly invariantViolations: readonly string[];
  /** Faults injected during the run, by kind: the infrastructure's (AWS boundary, poller) and the model simulator's. */
  readonly faultsInjected: {
    readonly infrastructure: InfraFaultCounts;
    readonly model: Readonly<Record<string, number>>;
  };
  readonly durationMs: number;
  /** Where things are, for a human following up. */
  readonly details: {
    readonly dlqByReason: Readonly<Record<string, number>>;
    /** DLQ copies of keys the ledger completed (a crash after the completion on the last receive): settled, not a second outcome. */
    readonly settledCopiesInDlq: number;
    readonly ledgerByStatus: Readonly<Record<string, number>>;
    /** The keys behind the invariant violations (at most MAX_LISTED_KEYS per problem), with where each ended. */
    readonly violatingKeys: readonly ViolatingKey[];
    /**
     * Messages still on the input queue when the state was read: a run that stopped waiting at its
     * drain bound before the queue emptied (its keys then have no outcome yet). 0 for a finished run.
     */
    readonly inputQueueDepth: number;
    /** The reconciler's run just before the state was read: its outcome, or `none` without monitors. */
    readonly finalReconcilerRun: 'ok' | 'error' | 'timeout' | 'none';
    /** Claims of all ledger items together: every model call follows a claim, so calls per claim bound them. */
    readonly claims: number;
    readonly apiCallsByOperation: Readonly<Record<string, number>>;
    readonly metrics: Readonly<Record<string, number>>;
    readonly coldStarts: number;
    readonly invocations: number;
    /** What the model simulator saw: requests by outcome and model, repairs, in-flight peak, Retry-After compliance. */
    readonly model: ModelSimulatorStats & { readonly faults: FaultSpec };
  };
}

/** A key that breaks the invariant, and the evidence. */
export interface ViolatingKey {
  readonly key: string;
  /** Its ledger item's status, or `none`. */
  readonly ledgerStatus: string;
  /** Where it ended: `completed`, `dlq`, `review` (none: lost). */
  readonly places: readonly string[];
  readonly reviewMessages: number;
  readonly dlqMessages: number;
  /** What is wrong with it. */
  readonly problem: 'lost' | 'in-two-places' | 'duplicate-review' | 'in-progress' | 'failed' | 'never-sent';
}

/** Keys listed in the report's details per kind of problem (the counts in the violations are always complete). */
const MAX_LISTED_KEYS = 25;
/** Keys named in a violation's text. */
const KEYS_IN_TEXT = 3;

/** What the entity guard did over a run, read from the control table's `entity#` items. */
export interface EntityReport {
  /** Entities named by the messages that reached the guard. */
  readonly count: number;
  /** The stage's limit of automated decisions per entity in the window. */
  readonly decisionLimit: number;
  /** The most automated decisions any one entity got: never above `decisionLimit`. */
  readonly maxDecisions: number;
  /** Entities held for a person (an escalation loop). */
  readonly held: number;
  /** Records sent to review as escalation loops (the EntityLoopsDetected metric). */
  readonly loopsDetected: number;
  /** Records completed with a reused decision (the EntityDecisionsReused metric). */
  readonly decisionsReused: number;
}

/** What the emulators hold at the end of a run. */
interface EmulatorState {
  // biome-ignore lint/suspicious/noExplicitAny: unmarshalled control-table items: untyped JSON, read field by field.
  readonly entities: ReadonlyArray<Record<string, any>>;
  readonly ledger: ReadonlyArray<Record<string, unknown>>;
  readonly deadLetters: readonly Message[];
  readonly reviews: readonly Message[];
  readonly inputQueueDepth: number;
}

/**
 * Builds the report from the emulators' real state: the ledger's items, the DLQ's and the review
 * queue's messages (read, then put back out of reach by a long visibility timeout), and the input
 * queue's depth. Counters the processor keeps (EMF metrics) fill only the fields that are counts
 * of events (duplicates skipped, model calls); the invariant never reads them.
 */
export async function buildReport(pipeline: LocalPipeline, sentBodies: readonly string[], durationMs: number, invocations: number): Promise<LocalRunReport> {
  // Before reading the queues: the report's reads hide the DLQ's messages, which the DLQ alarm counts.
  const alarms = await pipeline.alarms.finish();
  // The reconciler settles what SQS redrove behind the ledger's back; the invariant is judged after
  // its last run, as on AWS one reconciler period after the queue drained.
  const finalReconcilerRun = await runFinalReconciler(pipeline);
  const state = await readState(pipeline);
  const sentKeys = new Set(sentBodies.map(keyOfMessageBody));

  const ledgerByStatus: Record<string, number> = {};
  const statusOf = new Map<string, string>();
  let claims = 0;
  const completedKeys = new Set<string>();
  const rejectedKeys = new Set<string>();
  // The ledger is the record of truth: review and DLQ messages are notices, sent at most once
  // (lambda/processor/record-protocol.ts), so a settled item counts even when its notice was lost.
  const reviewKeys = new Set<string>();
  const deadLetteredKeys = new Set<string>();
  const byTier = { primary: 0, secondary: 0, rules: 0, human: 0, reused: 0 };
  for (const item of state.ledger) {
    const status = String(item[LEDGER.STATUS]);
    const key = String(item[LEDGER.PARTITION_KEY]);
    ledgerByStatus[status] = (ledgerByStatus[status] ?? 0) + 1;
    statusOf.set(key, status);
    claims += Number(item.claims ?? 0);
    if (status === LEDGER_STATUS.COMPLETED) {
      completedKeys.add(key);
      const tier = String(item.tier) as keyof typeof byTier;
      if (tier in byTier) byTier[tier] += 1;
    } else if (status === LEDGER_STATUS.REJECTED) {
      rejectedKeys.add(key);
      deadLetteredKeys.add(key);
    } else if (status === LEDGER_STATUS.DEAD_LETTERED) deadLetteredKeys.add(key);
    else if (status === LEDGER_STATUS.IN_REVIEW) reviewKeys.add(key);
  }

  const dlqByReason: Record<string, number> = {};
  const dlqMessages = new Map<string, number>();
  for (const message of state.deadLetters) {
    const reason = message.MessageAttributes?.[MESSAGE_ATTRIBUTE.FAILURE_REASON]?.StringValue ?? 'MAX_RECEIVES_EXCEEDED';
    dlqByReason[reason] = (dlqByReason[reason] ?? 0) + 1;
    const key = message.MessageAttributes?.[MESSAGE_ATTRIBUTE.INPUT_HASH]?.StringValue ?? keyOfMessageBody(message.Body ?? '');
    dlqMessages.set(key, (dlqMessages.get(key) ?? 0) + 1);
  }
  const reviewMessages = new Map<string, number>();
  for (const message of state.reviews) {
    const key = message.MessageAttributes?.[MESSAGE_ATTRIBUTE.INPUT_HASH]?.StringValue ?? 'unknown';
    reviewMessages.set(key, (reviewMessages.get(key) ?? 0) + 1);
  }

  const offenders: ViolatingKey[] = [];
  const offend = (key: string, problem: ViolatingKey['problem']) => {
    const places = [completedKeys.has(key) && 'completed', dlqMessages.has(key) && 'dlq', reviewMessages.has(key) && 'review'].filter(
      (place): place is string => typeof place === 'string',
    );
    offenders.push({
      key,
      ledgerStatus: statusOf.get(key) ?? 'none',
      places,
      reviewMessages: reviewMessages.get(key) ?? 0,
      dlqMessages: dlqMessages.get(key) ?? 0,
      problem,
    });
  };

  // A key's single outcome: completed, else in review, else dead-lettered. A key with no outcome
  // is lost; one that is also somewhere else is reported, since that is a copy someone must look at.
  let completed = 0;
  let inReview = 0;
  let deadLettered = 0;
  let rejected = 0;
  // A DLQ copy of a key the ledger completed (a crash after the completion on the last receive)
  // is a settled copy, not a second outcome: `pipectl dlq` marks it and a redrive skips it.
  let settledCopiesInDlq = 0;
  for (const key of sentKeys) {
    const inReviewNow = reviewKeys.has(key) || (reviewMessages.has(key) && !statusOf.has(key));
    const deadLetteredNow = deadLetteredKeys.has(key) || (dlqMessages.has(key) && !statusOf.has(key));
    const places = [completedKeys.has(key), inReviewNow || reviewMessages.has(key), deadLetteredNow].filter(Boolean).length;
    if (places > 1) offend(key, 'in-two-places');
    if ((reviewMessages.get(key) ?? 0) > 1) offend(key, 'duplicate-review');
    if (completedKeys.has(key)) {
      completed += 1;
      if (dlqMessages.has(key)) settledCopiesInDlq += 1;
    } else if (inReviewNow) inReview += 1;
    else if (deadLetteredNow) {
      deadLettered += 1;
      if (rejectedKeys.has(key)) rejected += 1;
    } else offend(key, 'lost');
  }
  for (const key of new Set([...completedKeys, ...reviewMessages.keys(), ...dlqMessages.keys()])) {
    if (!sentKeys.has(key)) offend(key, 'never-sent');
  }
  // After the reconciler's last run nothing may be left claimed or failed: a FAILED item whose
  // message is gone (redriven or deleted) is a job that never settles.
  for (const [key, status] of statusOf) {
    if (status === LEDGER_STATUS.IN_PROGRESS) offend(key, 'in-progress');
    else if (status === LEDGER_STATUS.FAILED) offend(key, 'failed');
  }

  const violations: string[] = [];
  const describe: Record<ViolatingKey['problem'], string> = {
    lost: 'sent key(s) are neither completed, dead-lettered nor in review',
    'in-two-places': 'key(s) ended in more than one of completed / DLQ / review',
    'duplicate-review': 'key(s) have more than one review message',
    'never-sent': 'key(s) in the results were never sent',
    'in-progress': 'ledger item(s) are still IN_PROGRESS after the final reconciler run',
    failed: 'ledger item(s) are still FAILED after the final reconciler run',
  };
  for (const problem of Object.keys(describe) as Array<ViolatingKey['problem']>) {
    const keys = offenders.filter((offender) => offender.problem === problem);
    if (keys.length === 0) continue;
    const named = keys
      .slice(0, KEYS_IN_TEXT)
      .map((offender) => `${offender.key.slice(0, 12)} (${offender.ledgerStatus}${offender.places.length > 0 ? `; ${offender.places.join('+')}` : ''})`);
    violations.push(`${keys.length} ${describe[problem]}: ${named.join(', ')}${keys.length > KEYS_IN_TEXT ? ', …' : ''}`);
  }
  if (state.inputQueueDepth > 0) violations.push(`${state.inputQueueDepth} message(s) are still on the input queue`);
  if (completed + deadLettered + inReview !== sentKeys.size) {
    violations.push(`unique ${sentKeys.size} ≠ completed ${completed} + dead-lettered ${deadLettered} + in review ${inReview}`);
  }

  const { logs, emulators } = pipeline;
  return {
    sent: sentBodies.length,
    unique: sentKeys.size,
    completed,
    deadLettered,
    inReview,
    rejected,
    duplicatesSkipped: logs.total(METRIC.DUPLICATES_SKIPPED),
    modelCalls: logs.total(METRIC.MODEL_CALLS),
    byTier: { ...byTier, human: inReview },
    entities: {
      count: state.entities.length,
      decisionLimit: Number(pipeline.processorEnvironment[ENV.ENTITY_DECISION_LIMIT] ?? 0),
      maxDecisions: Math.max(0, ...state.entities.map((item) => (Array.isArray(item[ENTITY.DECISIONS]) ? item[ENTITY.DECISIONS].length : 0))),
      held: state.entities.filter((item) => item[ENTITY.HOLD] !== undefined).length,
      loopsDetected: logs.total(METRIC.ENTITY_LOOPS_DETECTED),
      decisionsReused: logs.total(METRIC.ENTITY_DECISIONS_REUSED),
    },
    ...shadowOf(state.ledger, pipeline.processorEnvironment),
    alarms,
    apiCalls: emulators.counter.totals(),
    invariantHolds: violations.length === 0,
    invariantViolations: violations,
    faultsInjected: {
      infrastructure: pipeline.infraFaults(),
      model: Object.fromEntries(Object.entries(pipeline.simulator.stats().byOutcome).filter(([outcome]) => outcome !== 'ok')),
    },
    durationMs,
    details: {
      dlqByReason,
      settledCopiesInDlq,
      ledgerByStatus,
      violatingKeys: Object.keys(describe).flatMap((problem) => offenders.filter((offender) => offender.problem === problem).slice(0, MAX_LISTED_KEYS)),
      inputQueueDepth: state.inputQueueDepth,
      finalReconcilerRun,
      claims,
      apiCallsByOperation: emulators.counter.snapshot(),
      metrics: logs.snapshot(),
      coldStarts: pipeline.environments.reduce((total, environment) => total + environment.coldStarts, 0),
      invocations,
      model: { ...pipeline.simulator.stats(), faults: pipeline.simulator.faults },
    },
  };
}

/**
 * The longest a final run waits for live leases to end. A lease ends before its invocation's
 * deadline (lambda/processor/batch-processor.ts), so this is more than any local function timeout
 * at the time scales the tests and `pipectl local` use.
 */
const MAX_LEASE_WAIT_MS = 120_000;

async function runFinalReconciler(pipeline: LocalPipeline): Promise<LocalRunReport['details']['finalReconcilerRun']> {
  if (!pipeline.monitors?.names.includes(MONITOR_NAMES.RECONCILER)) return 'none';
  // On AWS the reconciler runs on a schedule: some run comes after every lease of the drained queue
  // has ended. A run made at the drain instant may find an item whose last holder gave its message
  // back (a failed release write under a DynamoDB fault) with its lease still live, while SQS has
  // already moved the message to the DLQ; that run rightly leaves it alone (a live lease may still
  // settle), so the final run is the first one after the last lease ends, as it would be on AWS.
  await waitForLeasesToEnd(pipeline, MAX_LEASE_WAIT_MS);
  const [run] = await pipeline.monitors.runOnce(MONITOR_NAMES.RECONCILER);
  return run?.result.kind ?? 'none';
}

/** Waits until no IN_PROGRESS ledger item has a live lease (`leaseUntil >= now`), at most `limitMs`. */
async function waitForLeasesToEnd(pipeline: LocalPipeline, limitMs: number): Promise<void> {
  const giveUpAt = Date.now() + limitMs;
  for (;;) {
    let latest = 0;
    // biome-ignore lint/suspicious/noExplicitAny: a DynamoDB LastEvaluatedKey, passed back as it came.
    let startKey: Record<string, any> | undefined;
    do {
      const page: ScanCommandOutput = await pipeline.dynamodb.send(
        new ScanCommand({
          TableName: pipeline.resources.ledgerTableName,
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
          FilterExpression: '#status = :inProgress',
          ExpressionAttributeNames: { '#status': LEDGER.STATUS },
          ExpressionAttributeValues: { ':inProgress': { S: LEDGER_STATUS.IN_PROGRESS } },
        }),
      );
      for (const item of page.Items ?? []) latest = Math.max(latest, Number(unmarshall(item).leaseUntil ?? 0));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const now = Date.now();
    if (latest < now || now >= giveUpAt) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(latest - now + 1, giveUpAt - now)));
  }
}

async function readState(pipeline: LocalPipeline): Promise<EmulatorState> {
  const { sqs, dynamodb, resources } = pipeline;
  const ledger: Record<string, unknown>[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: a DynamoDB LastEvaluatedKey, passed back as it came.
  let startKey: Record<string, any> | undefined;
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName: resources.ledgerTableName, ExclusiveStartKey: startKey, ConsistentRead: true }));
    for (const item of page.Items ?? []) ledger.push(unmarshall(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);

  const depth = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: resources.inputQueueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const inputQueueDepth = Object.values(depth.Attributes ?? {}).reduce((total, value) => total + Number(value), 0);
  // biome-ignore lint/suspicious/noExplicitAny: unmarshalled control-table items: untyped JSON, read field by field.
  const entities: Record<string, any>[] = [];
  startKey = undefined;
  do {
    const page: ScanCommandOutput = await dynamodb.send(
      new ScanCommand({
        TableName: resources.controlTableName,
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
        FilterExpression: 'begins_with(#pk, :prefix)',
        ExpressionAttributeNames: { '#pk': CONTROL.PARTITION_KEY },
        ExpressionAttributeValues: { ':prefix': { S: CONTROL.ENTITY_PREFIX } },
      }),
    );
    for (const item of page.Items ?? []) entities.push(unmarshall(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return {
    entities,
    ledger,
    deadLetters: await peekAll(pipeline, resources.inputDlqUrl),
    reviews: await peekAll(pipeline, resources.reviewQueueUrl),
    inputQueueDepth,
  };
}

/**
 * Reads every message of a queue without deleting it: each is received with a visibility timeout
 * long enough that it is not seen twice while reading (and so stays for `pipectl` or a later look).
 */
async function peekAll(pipeline: LocalPipeline, queueUrl: string): Promise<Message[]> {
  const seen = new Map<string, Message>();
  for (let emptyReads = 0; emptyReads < 2; ) {
    const { Messages = [] } = await pipeline.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 300,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) emptyReads += 1;
    for (const message of Messages) seen.set(message.MessageId as string, message);
  }
  return [...seen.values()];
}

function shadowOf(ledger: readonly Record<string, unknown>[], environment: Readonly<Record<string, string>>): { shadow?: ShadowReport } {
  let prices: Record<string, ModelPrice> = {};
  try {
    prices = JSON.parse(environment[ENV.MODEL_PRICES] ?? '{}') as Record<string, ModelPrice>;
  } catch {
    prices = {};
  }
  const shadow = shadowReport(ledger, prices);
  return shadow ? { shadow } : {};
}
