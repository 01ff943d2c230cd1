import { ConditionalCheckFailedException, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, type Message } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { LEDGER, LEDGER_STATUS, MESSAGE_ATTRIBUTE } from '../lambda/contract';
import { hourShardKey } from '../lambda/ledger/ledger-index';
import { TIER } from '../lambda/contract';
import { findTask, TASK_NAMES } from '../lambda/tasks/registry';
import { taskFeatures } from '../lambda/tasks/task-features';
import { releaseEntityOnResolve } from './entity-history';
import { OperationFailedError, UsageError } from './errors';
import { getLedgerItem, getLedgerItems, type LedgerItem } from './ledger-reader';
import { attribute, changeVisibility, keyOfMessage, peekMessages, sentAt } from './queue-inspector';
import type { PipelineTarget } from './target';

/** One record waiting for a human, from the review queue and the ledger. */
export interface ReviewItem {
  readonly key: string;
  readonly messageId: string;
  readonly task?: string;
  readonly taskVersion?: string;
  readonly jobId?: string;
  readonly reasons: readonly string[];
  readonly input?: unknown;
  readonly sentAt?: number;
  readonly receiveCount: number;
  readonly ledgerStatus?: string;
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

/** Reads the review queue (then makes its messages visible again) with each key's ledger status. */
export async function listReviews(target: PipelineTarget, limit = 1000): Promise<{ items: ReviewItem[]; truncated: boolean }> {
  const peeked = await peekMessages(target.sqs, target.resources.reviewQueueUrl, { limit });
  try {
    const keys = peeked.messages.map(keyOfReview);
    const ledger = await getLedgerItems(target.dynamodb, target.resources.ledgerTableName, keys, ['pk', 'status']);
    const items = peeked.messages.map((message, index) => {
      const body = parseReviewBody(message);
      const key = keys[index] as string;
      return {
        key,
        messageId: message.MessageId as string,
        task: body.task,
        taskVersion: body.taskVersion,
        jobId: body.jobId,
        reasons: Array.isArray(body.reasons) ? body.reasons.map(String) : [],
        input: body.input,
        sentAt: sentAt(message),
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
        ledgerStatus: ledger.get(key)?.status,
      };
    });
    return { items: items.sort((a, b) => (a.sentAt ?? 0) - (b.sentAt ?? 0)), truncated: peeked.truncated };
  } finally {
    await peeked.release();
  }
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
  /** Review messages of this key deleted from the review queue. */
  readonly messagesDeleted: number;
  /** The entity whose hold this resolve lifted (issue 16), when the item was held for one. */
  readonly releasedEntity?: string;
}

/**
 * Resolves a record in human review: the ledger item goes IN_REVIEW → COMPLETED with tier
 * `human` and the result (one conditional update: a record resolved twice, or never escalated,
 * is refused), then the key's review message is deleted. Repeating the command after a crash
 * between the two finds the item completed by a human and deletes the message.
 *
 * Like a processor completion, the write carries the `byHour` index key and the task's drift
 * features (from the input on the review message), so the monitors see human results too.
 * Not the ledger store's `complete()`: that is the lease holder's write (claim token, model
 * fields, TTL from the runtime config); a human resolution is conditional on IN_REVIEW instead
 * and keeps the item's TTL.
 */
export async function resolveReview(
  target: PipelineTarget,
  key: string,
  result: unknown,
  resolvedBy: string,
  now = Date.now(),
): Promise<ResolveOutcome> {
  const { sqs, resources } = target;
  // Read first: the review message holds the input the features are computed from.
  const peeked = await peekMessages(sqs, resources.reviewQueueUrl, { limit: 10_000 });
  const mine = peeked.messages.filter((message) => keyOfReview(message) === key);
  const others = peeked.messages.filter((message) => keyOfReview(message) !== key);
  try {
    const outcome = await completeAsHuman(target, key, result, resolvedBy, now, mine[0] ? parseReviewBody(mine[0]) : undefined);
    for (let start = 0; start < mine.length; start += 10) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: resources.reviewQueueUrl,
          Entries: mine.slice(start, start + 10).map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
    // Entity loops (issue 16): a person's answer lifts the entity's hold (a repeat finds nothing to lift).
    const releasedEntity = await releaseEntityOnResolve(target, key, result, resolvedBy, now);
    return { outcome, messagesDeleted: mine.length, ...(releasedEntity ? { releasedEntity } : {}) };
  } catch (error) {
    // Nothing was resolved: this key's messages go back for the next reviewer too.
    await changeVisibility(sqs, resources.reviewQueueUrl, mine, 0);
    throw error;
  } finally {
    await changeVisibility(sqs, resources.reviewQueueUrl, others, 0);
  }
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
