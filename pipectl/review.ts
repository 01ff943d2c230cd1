import { type AttributeValue, ConditionalCheckFailedException, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { LEDGER, LEDGER_STATUS, MESSAGE_ATTRIBUTE } from '../lambda/contract';
import { hourShardKey } from '../lambda/ledger/ledger-index';
import { TIER } from '../lambda/contract';
import { findTask, TASK_NAMES } from '../lambda/tasks/registry';
import { taskFeatures } from '../lambda/tasks/task-features';
import { releaseEntityOnResolve } from './entity-history';
import { OperationFailedError, UsageError } from './errors';
import { getLedgerItem, getLedgerItems, type LedgerItem } from './ledger-reader';
import { attribute, changeVisibility, keyOfMessage } from './queue-inspector';
import type { PipelineTarget } from './target';

/**
 * One record waiting for a human. What is in review is what the ledger says (DESIGN, "Review is a
 * state, not a queue read"): an item whose status is IN_REVIEW. The review queue only notifies;
 * reading it would count a receive, and after the queue's maxReceiveCount SQS would move the
 * notification to the review DLQ (the ApproximateReceiveCount rule of a redrive policy).
 */
export interface ReviewItem {
  readonly key: string;
  readonly task?: string;
  readonly taskVersion?: string;
  readonly jobId?: string;
  readonly reasons: readonly string[];
  /** The input, when the ledger item holds it (the notification does, but reading it would consume a receive). */
  readonly input?: unknown;
  /** Epoch ms when the item went to review (its last update). */
  readonly since?: number;
  readonly ledgerStatus: string;
}

/** What the processor puts on the review queue (lambda/processor/batch-processor.ts, `escalate`). */
interface ReviewBody {
  readonly key?: string;
  readonly task?: string;
  readonly taskVersion?: string;
  readonly jobId?: string;
  readonly input?: unknown;
  readonly reasons?: readonly string[];
}

function parseReviewBody(message: Message): ReviewBody {
  try {
    const body = JSON.parse(message.Body ?? '') as unknown;
    return body && typeof body === 'object' ? (body as ReviewBody) : {};
  } catch {
    return {};
  }
}

function keyOfReview(message: Message): string {
  return attribute(message, MESSAGE_ATTRIBUTE.INPUT_HASH) ?? parseReviewBody(message).key ?? keyOfMessage(message);
}

/** The ledger attribute the processor keeps the review reasons in (lambda/ledger/dynamodb-ledger-store.ts, markInReview). */
const REVIEW_REASONS = 'reviewReasons';

/**
 * The records in review, oldest first: a Scan of the ledger filtered on `status = IN_REVIEW`. No
 * queue is read, so listing as often as anyone likes changes nothing anywhere. A Scan reads the
 * whole table (its cost grows with the ledger, not with the backlog); `limit` bounds what is
 * returned, not what is read. No index covers IN_REVIEW today: the `byJob`/`byHour` indexes are
 * keyed on job and completion hour.
 */
export async function listReviews(target: PipelineTarget, limit = 1000): Promise<{ items: ReviewItem[]; truncated: boolean }> {
  const { dynamodb, resources } = target;
  const items: ReviewItem[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: resources.ledgerTableName,
        FilterExpression: '#status = :inReview',
        ExpressionAttributeNames: { '#status': LEDGER.STATUS },
        ExpressionAttributeValues: { ':inReview': { S: LEDGER_STATUS.IN_REVIEW } },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const raw of page.Items ?? []) items.push(toReviewItem(unmarshall(raw) as LedgerItem));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  items.sort((a, b) => (a.since ?? 0) - (b.since ?? 0));
  return { items: items.slice(0, limit), truncated: items.length > limit };
}

function toReviewItem(item: LedgerItem): ReviewItem {
  const reasons = item[REVIEW_REASONS];
  return {
    key: item.pk,
    task: item.task === undefined ? undefined : String(item.task),
    taskVersion: item.taskVersion === undefined ? undefined : String(item.taskVersion),
    jobId: item[LEDGER.JOB_ID] === undefined ? undefined : String(item[LEDGER.JOB_ID]),
    reasons: Array.isArray(reasons) ? reasons.map(String) : [],
    input: item.input,
    since: typeof item[LEDGER.UPDATED_AT] === 'number' ? (item[LEDGER.UPDATED_AT] as number) : undefined,
    ledgerStatus: String(item.status),
  };
}

/** Parses and validates a human's result against the task's output schema. */
export function validateResolution(item: LedgerItem, resultJson: string): unknown {
  const taskName = String(item.task ?? '');
  const task = findTask(taskName);
  if (!task) throw new UsageError(`the item's task "${taskName}" is not one this pipectl knows (${TASK_NAMES.join(', ')}): update pipectl`);
  if (item.taskVersion !== undefined && String(item.taskVersion) !== task.version) {
    throw new UsageError(
      `the item was made by ${task.name} version ${String(item.taskVersion)}; this pipectl validates version ${task.version}. ` +
        'Resolve it with the pipectl of that version.',
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(resultJson);
  } catch (error) {
    throw new UsageError(`--result is not JSON: ${(error as Error).message}`);
  }
  const parsed = task.outputSchema.safeParse(document);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new UsageError(`--result does not match the ${task.name} output schema: ${issues}`);
  }
  return parsed.data;
}

export interface ResolveOutcome {
  /** `resolved` now, or `already-resolved` by a human earlier (the command is safe to repeat). */
  readonly outcome: 'resolved' | 'already-resolved';
  /** Review notifications of this key deleted from the review queue. */
  readonly messagesDeleted: number;
  /** The entity whose hold this resolve lifted (issue 16), when the item was held for one. */
  readonly releasedEntity?: string;
}

/**
 * Resolves a record in human review: the ledger item goes IN_REVIEW → COMPLETED with tier
 * `human` and the result, in one update conditional on IN_REVIEW (a record resolved twice, or never
 * escalated, is refused: the fence), then its notification is removed from the review queue if it
 * is still there. The ledger write comes first, so a crash between the two leaves a notification
 * of an item that is no longer in review, which the next resolve removes (stale notifications are
 * deleted whenever they are met); it never leaves an item in review without a way to list it.
 *
 * SQS deletes only by receipt handle, so removing the notification receives messages; the search
 * stops at the first page holding this key's notification, and everything else is made visible
 * again at once. Each such receive counts towards the review queue's maxReceiveCount, which is
 * why that queue's default is SQS's maximum (lib/config/stage-schema.ts).
 *
 * Like a processor completion, the write carries the `byHour` index key and the task's drift
 * features (from the input on the notification, or on the ledger item), so the monitors see human
 * results too. Not the ledger store's `complete()`: that is the lease holder's write (claim token,
 * model fields, TTL from the runtime config); a human resolution is conditional on IN_REVIEW
 * instead and keeps the item's TTL.
 */
export async function resolveReview(target: PipelineTarget, key: string, result: unknown, resolvedBy: string, now = Date.now()): Promise<ResolveOutcome> {
  const { sqs, resources } = target;
  const notifications = await findNotifications(target, key);
  try {
    const ledgerItem = await getLedgerItem(target.dynamodb, resources.ledgerTableName, key);
    const review: ReviewBody | undefined = notifications.mine[0]
      ? parseReviewBody(notifications.mine[0])
      : ledgerItem && ledgerItem.input !== undefined
        ? { task: String(ledgerItem.task), input: ledgerItem.input }
        : undefined;
    const outcome = await completeAsHuman(target, key, result, resolvedBy, now, review);
    const done = [...notifications.mine, ...notifications.stale];
    for (let start = 0; start < done.length; start += 10) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: resources.reviewQueueUrl,
          Entries: done.slice(start, start + 10).map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
    // Entity loops (issue 16): a person's answer lifts the entity's hold (a repeat finds nothing to lift).
    const releasedEntity = await releaseEntityOnResolve(target, key, result, resolvedBy, now);
    return { outcome, messagesDeleted: notifications.mine.length, ...(releasedEntity ? { releasedEntity } : {}) };
  } catch (error) {
    // Nothing was resolved: this key's notification goes back too.
    await changeVisibility(sqs, resources.reviewQueueUrl, [...notifications.mine, ...notifications.stale], 0);
    throw error;
  } finally {
    await changeVisibility(sqs, resources.reviewQueueUrl, notifications.others, 0);
  }
}

/**
 * Receives review notifications until one of `key` turns up (or the queue is exhausted): this
 * key's, those of items no longer IN_REVIEW (stale, resolved earlier), and the rest, which the
 * caller releases.
 */
async function findNotifications(target: PipelineTarget, key: string): Promise<{ mine: Message[]; stale: Message[]; others: Message[] }> {
  const { sqs, resources } = target;
  const seen = new Map<string, Message>();
  for (let emptyReads = 0; emptyReads < 2; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: resources.reviewQueueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 60,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    emptyReads = Messages.length === 0 ? emptyReads + 1 : 0;
    for (const message of Messages) seen.set(message.MessageId as string, message);
    if (Messages.some((message) => keyOfReview(message) === key)) break;
  }
  const messages = [...seen.values()];
  const mine = messages.filter((message) => keyOfReview(message) === key);
  const rest = messages.filter((message) => keyOfReview(message) !== key);
  const statuses = await getLedgerItems(target.dynamodb, resources.ledgerTableName, rest.map(keyOfReview), ['pk', 'status']);
  const stale = rest.filter((message) => {
    const status = statuses.get(keyOfReview(message))?.status;
    return status !== undefined && status !== LEDGER_STATUS.IN_REVIEW;
  });
  return { mine, stale, others: rest.filter((message) => !stale.includes(message)) };
}

async function completeAsHuman(
  target: PipelineTarget,
  key: string,
  result: unknown,
  resolvedBy: string,
  now: number,
  review: ReviewBody | undefined,
): Promise<ResolveOutcome['outcome']> {
  const { dynamodb, resources } = target;
  const task = review?.task ? findTask(review.task) : undefined;
  const features = task && review?.input !== undefined ? taskFeatures(task, { input: review.input, output: result, tier: TIER.HUMAN }) : undefined;
  try {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: resources.ledgerTableName,
        Key: { [LEDGER.PARTITION_KEY]: { S: key } },
        ConditionExpression: '#status = :inReview',
        UpdateExpression:
          'SET #status = :completed, #result = :result, #tier = :human, #modelId = :human, #resolvedBy = :resolvedBy, ' +
          `#completedAt = :now, #hourShard = :hourShard, #updatedAt = :now${features ? ', #features = :features' : ''} REMOVE #leaseUntil`,
        ExpressionAttributeNames: {
          '#status': LEDGER.STATUS,
          '#result': 'result',
          '#tier': LEDGER.TIER,
          '#modelId': 'modelId',
          '#resolvedBy': 'resolvedBy',
          '#completedAt': LEDGER.COMPLETED_AT,
          '#hourShard': LEDGER.HOUR_SHARD,
          '#updatedAt': LEDGER.UPDATED_AT,
          '#leaseUntil': LEDGER.LEASE_UNTIL,
          ...(features ? { '#features': LEDGER.FEATURES } : {}),
        },
        ExpressionAttributeValues: {
          ':inReview': { S: LEDGER_STATUS.IN_REVIEW },
          ':completed': { S: LEDGER_STATUS.COMPLETED },
          ':result': { M: marshall(result as Record<string, unknown>, { removeUndefinedValues: true }) },
          ':human': { S: TIER.HUMAN },
          ':resolvedBy': { S: resolvedBy.slice(0, 128) || 'unknown' },
          ':now': { N: String(now) },
          ':hourShard': { S: hourShardKey(now, key) },
          ...(features ? { ':features': { M: marshall(features) } } : {}),
        },
      }),
    );
    return 'resolved';
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const current = await getLedgerItem(dynamodb, resources.ledgerTableName, key);
    if (current?.status === LEDGER_STATUS.COMPLETED && current.tier === TIER.HUMAN) return 'already-resolved';
    throw new OperationFailedError(
      current
        ? `${key} is ${String(current.status)}${current.tier ? ` (tier ${String(current.tier)})` : ''}, not in review: nothing changed`
        : `no ledger item ${key}: list the keys in review with \`pipectl review list\``,
    );
  }
}
