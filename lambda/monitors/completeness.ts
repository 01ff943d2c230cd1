import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { CONTROL, JOB, JOB_STATUS, type JobStatus, LEDGER, LEDGER_STATUS } from '../contract';
import { DynamoDbLedgerStore } from '../ledger/dynamodb-ledger-store';
import { MonitorDependencyError, MonitorInputError } from './errors';
import { type JobItem, type ReadCost, readJobItems } from './ledger-reader';

/**
 * Completeness: did every item of a job reach an outcome? A job is registered in the control
 * table (`job#<jobId>`) with how many messages it holds and a deadline; its messages carry the
 * same `jobId`, which the processor's claim writes onto their ledger items (and into the `byJob`
 * index). After the deadline, the items the ledger cannot account for are missing:
 *
 *   missing = expected − (completed + dead-lettered + in review)
 *
 * the same invariant every chaos test checks, counted from the ledger itself. Used by the
 * scheduled reconciler (reconciler-handler.ts) and by `pipectl jobs`.
 *
 * Known limit: an item belongs to the job whose message claimed it first. An input already
 * completed under another job (or none) is a duplicate, whose claim writes nothing, so re-sending
 * a finished input under a new job id shows it as missing in that job; re-send under the same id.
 */

/** What {@link convergenceOf} reads of a ledger item. */
export interface ConvergenceItem {
  readonly status: string;
  readonly leaseUntil?: number;
  /** The highest receive count of the message that holds (or held) the claim: set by the claim, raised by observeReceive. */
  readonly receiveCount?: number;
  /** Epoch ms of the item's last write. */
  readonly updatedAt?: number;
  /** The reconciler saw a message with this key in the input queue's DLQ (see {@link DeadLetterWitness}). */
  readonly inDeadLetterQueue?: boolean;
}

/** Options of {@link convergenceOf}. */
export interface ConvergenceOptions {
  /** The input queue's maxReceiveCount. */
  readonly maxReceiveCount: number;
  /**
   * An IN_PROGRESS (ended lease) or FAILED item not written for this long has no message left to
   * settle it. @default DEFAULT_ABANDON_AFTER_MS
   */
  readonly abandonAfterMs?: number;
}

/**
 * Longer than a message can wait between two receives in normal operation (the queue's visibility
 * timeout is 6 × the function timeout, at most 90 minutes), with room for a backlog.
 */
export const DEFAULT_ABANDON_AFTER_MS = 6 * 3_600_000;

/** Why the reconciler settles an item as DEAD_LETTERED; see {@link convergenceOf}. */
export type Convergence = 'out-of-receives' | 'in-dlq' | 'abandoned';

/**
 * An item no live attempt can still settle: FAILED, or IN_PROGRESS with an ended lease. At exactly
 * `leaseUntil` the lease is still live (the claim's takeover condition is `leaseUntil < now` too).
 */
export function isSettleCandidate(item: Pick<ConvergenceItem, 'status' | 'leaseUntil'>, now: number): boolean {
  return item.status === LEDGER_STATUS.FAILED || (item.status === LEDGER_STATUS.IN_PROGRESS && item.leaseUntil !== undefined && item.leaseUntil < now);
}

/**
 * Whether a ledger item belongs to a message that SQS has redriven (or will on its next receive)
 * behind the ledger's back, and why; undefined when the item is settled or may still be.
 *
 * - `out-of-receives`: the attempt on the message's last receive (receiveCount ≥ maxReceiveCount)
 *   ended without settling — IN_PROGRESS with an ended lease (a crash, a timeout, an OOM) or
 *   FAILED. No receive of that message is left. The reconciler settles it at once.
 * - `in-dlq`: the reconciler saw a message with the item's key in the input queue's DLQ. This is
 *   the case the item's receive count cannot tell: every later receive of the message died before
 *   it could write anything (a timeout or crash before the claim), so the item still carries an
 *   earlier receive's count while SQS has already redriven the message. Settled at once.
 * - `abandoned`: an IN_PROGRESS (ended lease) or FAILED item nobody has written for
 *   `abandonAfterMs`: its message's later receives died before they could write anything (so the
 *   item's receive count is an earlier one's), and SQS redrove it. Settled as dead-lettered too;
 *   should the message still turn up (a very long backlog), its claim takes DEAD_LETTERED over.
 *
 * How the reconciler knows without reading the queue: the claim writes the message's receive count
 * onto the item, a later receive of the same message that finds its earlier lease still live
 * raises it (observeReceive), and the lease ends before the invocation could still be running, so
 * an ended lease means no attempt of that receive is alive. At exactly `leaseUntil` the lease is
 * still live (the claim's takeover condition is `leaseUntil < now` too).
 */
export function convergenceOf(item: ConvergenceItem, now: number, options: ConvergenceOptions): Convergence | undefined {
  if (!isSettleCandidate(item, now)) return undefined;
  if ((item.receiveCount ?? 0) >= options.maxReceiveCount) return 'out-of-receives';
  if (item.inDeadLetterQueue) return 'in-dlq';
  const abandonAfterMs = options.abandonAfterMs ?? DEFAULT_ABANDON_AFTER_MS;
  if (item.updatedAt !== undefined && now - item.updatedAt > abandonAfterMs) return 'abandoned';
  return undefined;
}

/** A registered job, the control-table item `job#<jobId>`. */
export interface JobRecord {
  readonly jobId: string;
  /** Messages the producer sent. */
  readonly expected: number;
  /** Distinct inputs among them, when the producer counted them. */
  readonly unique?: number;
  /** Epoch ms. */
  readonly sentAt: number;
  /** Epoch ms. */
  readonly deadline: number;
  readonly source?: string;
  readonly closedAt?: number;
  readonly status?: JobStatus;
  /** The last reconciliation's missing count, if any. */
  readonly missing?: number;
}

/** What the ledger says about one job. */
export interface JobCompleteness {
  readonly jobId: string;
  /** What the ledger is compared with: `unique` when the job has it, else `expected`. */
  readonly expected: number;
  readonly sentAt: number;
  readonly deadline: number;
  readonly overdue: boolean;
  readonly completed: number;
  /** Rejected as bad input, or failed on the queue's last receive (the redrive moves those to the DLQ). */
  readonly deadLettered: number;
  readonly inReview: number;
  /** Items with no outcome yet: expected − (completed + dead-lettered + in review), at least 0. */
  readonly missing: number;
  /** IN_PROGRESS with an expired lease: an attempt that crashed or timed out. */
  readonly stuck: number;
  /** FAILED and still retrying, or IN_PROGRESS with a live lease. */
  readonly pending: number;
  /** Missing items with no ledger item at all: lost before the processor, or still queued. */
  readonly notInLedger: number;
  /** The first keys of stuck and pending items (at most `maxKeysRecorded` each). */
  readonly stuckKeys: readonly string[];
  readonly pendingKeys: readonly string[];
  /** Ledger items found for the job. */
  readonly ledgerItems: number;
  readonly status: JobStatus;
}

/** Options of {@link assessJob}. */
export interface AssessOptions {
  /** Epoch ms. */
  readonly now: number;
  /** The input queue's maxReceiveCount. */
  readonly maxReceiveCount: number;
  /** Keys to keep per kind (stuck, pending). @default 100 */
  readonly maxKeysRecorded?: number;
}

/** Counts a job's ledger items into outcomes. Pure: the reconciler and `pipectl jobs` share it. */
export function assessJob(job: JobRecord, items: readonly JobItem[], options: AssessOptions): JobCompleteness {
  const maxKeys = options.maxKeysRecorded ?? 100;
  let completed = 0;
  let deadLettered = 0;
  let inReview = 0;
  const stuckKeys: string[] = [];
  const pendingKeys: string[] = [];
  let stuck = 0;
  let pending = 0;
  for (const item of items) {
    switch (item.status) {
      case LEDGER_STATUS.COMPLETED:
        completed += 1;
        break;
      case LEDGER_STATUS.IN_REVIEW:
        inReview += 1;
        break;
      case LEDGER_STATUS.REJECTED:
      case LEDGER_STATUS.DEAD_LETTERED:
        deadLettered += 1;
        break;
      case LEDGER_STATUS.FAILED:
        // A failure on the last allowed receive: SQS moves the message to the DLQ on its next receive.
        if ((item.receiveCount ?? 0) >= options.maxReceiveCount) deadLettered += 1;
        else if (pending++ < maxKeys) pendingKeys.push(item.key);
        break;
      case LEDGER_STATUS.IN_PROGRESS:
        if ((item.leaseUntil ?? 0) < options.now) {
          if (stuck++ < maxKeys) stuckKeys.push(item.key);
        } else if (pending++ < maxKeys) pendingKeys.push(item.key);
        break;
      default:
        // An unknown status has no outcome: it counts as pending, so it is looked at, not lost.
        if (pending++ < maxKeys) pendingKeys.push(item.key);
    }
  }
  const expected = job.unique ?? job.expected;
  const missing = Math.max(0, expected - (completed + deadLettered + inReview));
  const overdue = options.now >= job.deadline;
  let status: JobStatus = JOB_STATUS.OPEN;
  if (job.closedAt !== undefined) status = JOB_STATUS.CLOSED;
  else if (missing === 0) status = JOB_STATUS.COMPLETE;
  else if (overdue) status = JOB_STATUS.INCOMPLETE;
  return {
    jobId: job.jobId,
    expected,
    sentAt: job.sentAt,
    deadline: job.deadline,
    overdue,
    completed,
    deadLettered,
    inReview,
    missing,
    stuck,
    pending,
    notInLedger: Math.max(0, missing - stuck - pending),
    stuckKeys,
    pendingKeys,
    ledgerItems: items.length,
    status,
  };
}

/** What a producer registers. */
export interface JobRegistration {
  readonly jobId: string;
  readonly expected: number;
  readonly unique?: number;
  /** Epoch ms. */
  readonly sentAt: number;
  /** Epoch ms. */
  readonly deadline: number;
  /** @default 'producer' */
  readonly source?: string;
  /** The item expires (control table TTL) this many days after the deadline. @default 30 */
  readonly ttlDays?: number;
}

/**
 * Registers a job: one PutItem of `job#<jobId>`, refused if the id exists (a job id names one
 * batch of work). The equivalent with any DynamoDB client is in the README ("Completeness").
 * @returns `exists` when a job with this id was registered before (nothing is changed).
 */
export async function registerJob(client: DynamoDBClient, controlTable: string, registration: JobRegistration): Promise<'registered' | 'exists'> {
  const ttlDays = registration.ttlDays ?? 30;
  try {
    await client.send(
      new PutItemCommand({
        TableName: controlTable,
        Item: marshall(
          {
            [CONTROL.PARTITION_KEY]: `${CONTROL.JOB_PREFIX}${registration.jobId}`,
            [JOB.ID]: registration.jobId,
            [JOB.EXPECTED]: registration.expected,
            [JOB.UNIQUE]: registration.unique,
            [JOB.SENT_AT]: registration.sentAt,
            [JOB.DEADLINE]: registration.deadline,
            [JOB.SOURCE]: registration.source ?? 'producer',
            [JOB.STATUS]: JOB_STATUS.OPEN,
            [CONTROL.TTL]: Math.floor(registration.deadline / 1000) + ttlDays * 86_400,
          },
          { removeUndefinedValues: true },
        ),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CONTROL.PARTITION_KEY },
      }),
    );
    return 'registered';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'exists';
    throw new MonitorDependencyError('dynamodb', `register job ${registration.jobId}: ${(error as Error).message}`, { cause: error });
  }
}

function toJobRecord(item: Record<string, unknown>): JobRecord {
  const number = (name: string) => (item[name] === undefined ? undefined : Number(item[name]));
  return {
    jobId: String(item[JOB.ID] ?? String(item[CONTROL.PARTITION_KEY]).slice(CONTROL.JOB_PREFIX.length)),
    expected: Number(item[JOB.EXPECTED] ?? 0),
    ...(number(JOB.UNIQUE) !== undefined ? { unique: number(JOB.UNIQUE) } : {}),
    sentAt: Number(item[JOB.SENT_AT] ?? 0),
    deadline: Number(item[JOB.DEADLINE] ?? 0),
    ...(item[JOB.SOURCE] !== undefined ? { source: String(item[JOB.SOURCE]) } : {}),
    ...(number(JOB.CLOSED_AT) !== undefined ? { closedAt: number(JOB.CLOSED_AT) } : {}),
    ...(item[JOB.STATUS] !== undefined ? { status: item[JOB.STATUS] as JobStatus } : {}),
    ...(number(JOB.MISSING) !== undefined ? { missing: number(JOB.MISSING) } : {}),
  };
}

/** One registered job, or undefined. */
export async function readJob(client: DynamoDBClient, controlTable: string, jobId: string): Promise<JobRecord | undefined> {
  try {
    const { Item } = await client.send(
      new GetItemCommand({ TableName: controlTable, Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.JOB_PREFIX}${jobId}` } }, ConsistentRead: true }),
    );
    return Item ? toJobRecord(unmarshall(Item)) : undefined;
  } catch (error) {
    throw new MonitorDependencyError('dynamodb', `read job ${jobId}: ${(error as Error).message}`, { cause: error });
  }
}

/** Which jobs {@link listJobs} returns. */
export interface ListJobsOptions {
  /** Only jobs whose deadline is at or before this (epoch ms), not complete and not closed: what the reconciler checks. */
  readonly dueBy?: number;
}

/**
 * Registered jobs, oldest deadline first. The control table is small (a breaker per model, a
 * budget item per hour, jobs, baselines; all with TTLs), so a filtered scan is cheaper than an
 * index nobody else needs; its cost grows with the number of live jobs, not with traffic.
 */
export async function listJobs(
  client: DynamoDBClient,
  controlTable: string,
  options: ListJobsOptions = {},
  cost: ReadCost = { requests: 0, readUnits: 0 },
): Promise<JobRecord[]> {
  const names: Record<string, string> = { '#pk': CONTROL.PARTITION_KEY };
  const values: Record<string, AttributeValue> = { ':prefix': { S: CONTROL.JOB_PREFIX } };
  let filter = 'begins_with(#pk, :prefix)';
  if (options.dueBy !== undefined) {
    Object.assign(names, { '#deadline': JOB.DEADLINE, '#closedAt': JOB.CLOSED_AT, '#status': JOB.STATUS });
    Object.assign(values, { ':dueBy': { N: String(options.dueBy) }, ':complete': { S: JOB_STATUS.COMPLETE }, ':closed': { S: JOB_STATUS.CLOSED } });
    filter += ' AND #deadline <= :dueBy AND attribute_not_exists(#closedAt) AND (attribute_not_exists(#status) OR NOT (#status IN (:complete, :closed)))';
  }
  const jobs: JobRecord[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  try {
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: controlTable,
          FilterExpression: filter,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ExclusiveStartKey: startKey,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      cost.requests += 1;
      cost.readUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
      for (const item of page.Items ?? []) jobs.push(toJobRecord(unmarshall(item)));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  } catch (error) {
    throw new MonitorDependencyError('dynamodb', `list jobs: ${(error as Error).message}`, { cause: error });
  }
  return jobs.sort((a, b) => a.deadline - b.deadline || a.jobId.localeCompare(b.jobId));
}

/** The tables and settings completeness needs. */
export interface CompletenessContext {
  readonly client: DynamoDBClient;
  readonly ledgerTable: string;
  readonly controlTable: string;
  readonly maxReceiveCount: number;
  /** @default 100 */
  readonly maxKeysRecorded?: number;
  /** See {@link ConvergenceOptions}. @default DEFAULT_ABANDON_AFTER_MS */
  readonly abandonAfterMs?: number;
  /** The ledger's TTL, for the items the reconciler settles. @default 30 */
  readonly ledgerTtlDays?: number;
  /** Where to look for redriven messages that the items' receive counts cannot reveal; none: only counts and age decide. */
  readonly deadLetterWitness?: DeadLetterWitness;
}

/**
 * Which keys have a message in the input queue's DLQ. The reconciler reads the keys at most once
 * per run: when a job's unsettled item is decided neither by its receive count nor by its age, and
 * for the sweep of the DLQ's side (see {@link reconcile}) when `sweepDue` says something may have
 * arrived since the last complete sweep. A run with an empty or unchanged DLQ reads no message.
 */
export interface DeadLetterWitness {
  keysInDeadLetterQueue(): Promise<ReadonlySet<string>>;
  /**
   * Whether the DLQ changed since the last complete sweep (`markSwept`), with its depth now.
   * Absent: every run sweeps.
   */
  sweepDue?(now: number): Promise<{ readonly due: boolean; readonly depth: number }>;
  /** The sweep at `depth` left nothing to settle later (no item with a live lease). */
  markSwept?(depth: number, now: number): void;
}

/** Reads one job and its ledger items and assesses it, changing nothing (`pipectl jobs <id>`). */
export async function checkJob(context: CompletenessContext, jobId: string, now: number): Promise<JobCompleteness & { readonly cost: ReadCost }> {
  const job = await readJob(context.client, context.controlTable, jobId);
  if (!job) throw new MonitorInputError(`no job "${jobId}" is registered (control table item ${CONTROL.JOB_PREFIX}${jobId})`);
  const { items, ...cost } = await readJobItems(context.client, context.ledgerTable, jobId);
  return { ...assessJob(job, items, { now, maxReceiveCount: context.maxReceiveCount, maxKeysRecorded: context.maxKeysRecorded }), cost };
}

/** Writes an assessment onto the job's item, for `pipectl jobs` and whoever reads the table. */
export async function recordCompleteness(client: DynamoDBClient, controlTable: string, assessment: JobCompleteness, now: number): Promise<void> {
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: controlTable,
        Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.JOB_PREFIX}${assessment.jobId}` } },
        // An operator's close wins over a reconciliation that read the job before it.
        ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#closedAt)',
        UpdateExpression:
          'SET #status = :status, #reconciledAt = :now, #completed = :completed, #deadLettered = :deadLettered, #inReview = :inReview, ' +
          '#missing = :missing, #notInLedger = :notInLedger, #stuckKeys = :stuckKeys, #pendingKeys = :pendingKeys',
        ExpressionAttributeNames: {
          '#pk': CONTROL.PARTITION_KEY,
          '#closedAt': JOB.CLOSED_AT,
          '#status': JOB.STATUS,
          '#reconciledAt': JOB.RECONCILED_AT,
          '#completed': JOB.COMPLETED,
          '#deadLettered': JOB.DEAD_LETTERED,
          '#inReview': JOB.IN_REVIEW,
          '#missing': JOB.MISSING,
          '#notInLedger': JOB.NOT_IN_LEDGER,
          '#stuckKeys': JOB.STUCK_KEYS,
          '#pendingKeys': JOB.PENDING_KEYS,
        },
        ExpressionAttributeValues: marshall({
          ':status': assessment.status,
          ':now': now,
          ':completed': assessment.completed,
          ':deadLettered': assessment.deadLettered,
          ':inReview': assessment.inReview,
          ':missing': assessment.missing,
          ':notInLedger': assessment.notInLedger,
          ':stuckKeys': [...assessment.stuckKeys],
          ':pendingKeys': [...assessment.pendingKeys],
        }),
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return;
    throw new MonitorDependencyError('dynamodb', `record job ${assessment.jobId}: ${(error as Error).message}`, { cause: error });
  }
}

/** What one reconciler run found. */
export interface ReconcileResult {
  /** Jobs assessed this run (overdue, not complete, not closed). */
  readonly jobs: readonly JobCompleteness[];
  /** Overdue jobs left for the next run because time ran out (their last recorded count is used). */
  readonly deferred: readonly JobRecord[];
  /** Σ missing over overdue incomplete jobs: the `IncompleteJobItems` metric. */
  readonly incompleteItems: number;
  /** Items settled as DEAD_LETTERED by this run (their message was redriven behind the ledger's back). */
  readonly settledItems: number;
  /**
   * Of them, items of no overdue job (sent without a job, or their job not yet due), found from the
   * DLQ's side: a message in the DLQ whose ledger item is still unsettled (see {@link reconcile}).
   */
  readonly settledFromDeadLetterQueue: number;
  readonly cost: ReadCost;
  /** Why the DLQ could not be read this run, if it was needed and failed (the items it would have settled wait for the next run). */
  readonly deadLetterWitnessError?: string;
}

/**
 * One reconciler run: every overdue job that is neither complete nor closed is assessed from the
 * ledger and the result recorded on its item; a job found complete is never read again. Stops
 * starting jobs at `workUntil` (epoch ms), leaving the rest for the next run.
 */
export async function reconcile(context: CompletenessContext, now: number, workUntil = Number.POSITIVE_INFINITY): Promise<ReconcileResult> {
  const cost: ReadCost = { requests: 0, readUnits: 0 };
  let settledItems = 0;
  // Read once per run, and only if some item needs it (see DeadLetterWitness).
  let deadLetterKeys: Promise<ReadonlySet<string>> | undefined;
  const witness = context.deadLetterWitness;
  // A DLQ that cannot be read leaves those items to a later run; it never stops the jobs' count.
  let deadLetterWitnessError: string | undefined;
  const keysInDeadLetterQueue = witness
    ? () => {
        deadLetterKeys ??= witness.keysInDeadLetterQueue().catch((error: unknown) => {
          deadLetterWitnessError = `read the DLQ: ${(error as Error).message}`;
          return new Set<string>();
        });
        return deadLetterKeys;
      }
    : undefined;
  const due = await listJobs(context.client, context.controlTable, { dueBy: now }, cost);
  /** Keys the jobs' items brought into this run (settled there if they could be). */
  const seen = new Set<string>();
  const jobs: JobCompleteness[] = [];
  const deferred: JobRecord[] = [];
  for (const job of due) {
    if (Date.now() >= workUntil) {
      deferred.push(job);
      continue;
    }
    const { items: read0, ...read } = await readJobItems(context.client, context.ledgerTable, job.jobId);
    cost.requests += read.requests;
    cost.readUnits += read.readUnits;
    for (const item of read0) seen.add(item.key);
    const { items, settled } = await settleRedriven(context, read0, now, cost, keysInDeadLetterQueue);
    settledItems += settled;
    const assessment = assessJob(job, items, { now, maxReceiveCount: context.maxReceiveCount, maxKeysRecorded: context.maxKeysRecorded });
    await recordCompleteness(context.client, context.controlTable, assessment, now);
    jobs.push(assessment);
  }
  // Convergence does not depend on jobs. Messages sent without one (any SQS producer) or whose job is
  // not due yet are found from the DLQ's side: every key in it whose ledger item is still unsettled
  // (an ended lease, or FAILED) is settled now. One receive when the DLQ is empty; at most the
  // witness's limit of messages and one consistent GetItem per key not already read above.
  let settledFromDeadLetterQueue = 0;
  if (witness && keysInDeadLetterQueue && Date.now() < workUntil) {
    const gate = witness.sweepDue
      ? await witness.sweepDue(now).catch((error: unknown) => {
          deadLetterWitnessError = `read the DLQ's depth: ${(error as Error).message}`;
          return undefined;
        })
      : { due: true, depth: undefined };
    if (gate?.due) {
      const candidates = [...(await keysInDeadLetterQueue())].filter((key) => !seen.has(key));
      // Marked FAILED only to pass settleRedriven's first filter: it reads each item before deciding.
      const probe = candidates.map((key): JobItem => ({ key, status: LEDGER_STATUS.FAILED }));
      const swept = await settleRedriven(context, probe, now, cost, keysInDeadLetterQueue);
      settledFromDeadLetterQueue = swept.settled;
      settledItems += swept.settled;
      // A live lease may end unsettled: the DLQ is swept again next run, changed or not.
      if (swept.waiting === 0 && !deadLetterWitnessError && gate.depth !== undefined) witness.markSwept?.(gate.depth, now);
    }
  }
  const incompleteItems =
    jobs.reduce((sum, job) => sum + (job.status === JOB_STATUS.INCOMPLETE ? job.missing : 0), 0) + deferred.reduce((sum, job) => sum + (job.missing ?? 0), 0);
  return { jobs, deferred, incompleteItems, settledItems, settledFromDeadLetterQueue, cost, ...(deadLetterWitnessError ? { deadLetterWitnessError } : {}) };
}

/**
 * Ledger convergence: a job's items whose message SQS redrove behind the ledger's back (see
 * {@link convergenceOf}) are settled as DEAD_LETTERED before the job is counted, so they count as
 * dead-lettered in this same run. The index projects no claim token, so each candidate (an ended
 * lease, or FAILED: few) is read once, consistently, and the write is fenced by the token read.
 */
async function settleRedriven(
  context: CompletenessContext,
  items: readonly JobItem[],
  now: number,
  cost: ReadCost,
  keysInDeadLetterQueue?: () => Promise<ReadonlySet<string>>,
): Promise<{ items: JobItem[]; settled: number; waiting: number }> {
  const ledger = new DynamoDbLedgerStore({ client: context.client, tableName: context.ledgerTable, ttlDays: context.ledgerTtlDays ?? 30 });
  const options = { maxReceiveCount: context.maxReceiveCount, abandonAfterMs: context.abandonAfterMs };
  let settled = 0;
  /** Items read that are IN_PROGRESS with a live lease: their holder may still settle them, or not. */
  let waiting = 0;
  const result: JobItem[] = [];
  for (const item of items) {
    if (!isSettleCandidate(item, now)) {
      result.push(item);
      continue;
    }
    let full: Record<string, unknown> | undefined;
    try {
      const read = await context.client.send(
        new GetItemCommand({
          TableName: context.ledgerTable,
          Key: { [LEDGER.PARTITION_KEY]: { S: item.key } },
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      cost.requests += 1;
      cost.readUnits += read.ConsumedCapacity?.CapacityUnits ?? 0;
      full = read.Item ? unmarshall(read.Item) : undefined;
    } catch (error) {
      throw new MonitorDependencyError('dynamodb', `read ledger item ${item.key}: ${(error as Error).message}`, { cause: error });
    }
    const state: ConvergenceItem | undefined = full && {
      status: String(full[LEDGER.STATUS]),
      leaseUntil: numberOr(full.leaseUntil),
      receiveCount: numberOr(full.receiveCount),
      updatedAt: numberOr(full.updatedAt),
    };
    if (state?.status === LEDGER_STATUS.IN_PROGRESS && !isSettleCandidate(state, now)) waiting += 1;
    let why = state && convergenceOf(state, now, options);
    if (state && !why && keysInDeadLetterQueue && isSettleCandidate(state, now)) {
      why = convergenceOf({ ...state, inDeadLetterQueue: (await keysInDeadLetterQueue()).has(item.key) }, now, options);
    }
    if (!why || typeof full?.claimToken !== 'string') {
      result.push(item);
      continue;
    }
    const written = await ledger
      .settleOutOfReceives({
        key: item.key,
        claimToken: full.claimToken,
        reason: `${why}: SQS moved the message to the DLQ without a settled ledger item`,
        now,
      })
      .catch((error: unknown) => {
        throw new MonitorDependencyError('dynamodb', `settle ledger item ${item.key}: ${(error as Error).message}`, { cause: error });
      });
    if (written.kind === 'applied') {
      settled += 1;
      result.push({ ...item, status: LEDGER_STATUS.DEAD_LETTERED });
    } else {
      result.push(item); // Written since the read (a new claim): counted as it was; the next run sees it.
    }
  }
  return { items: result, settled, waiting };
}

function numberOr(value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : Number(value);
}
