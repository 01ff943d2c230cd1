import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { LEDGER, LEDGER_STATUS, type LedgerStatus } from '../contract';
import { DependencyError } from '../errors/pipeline-errors';
import { hourShardKey, jobShardKey } from './ledger-index';
import type {
  ClaimOutcome,
  ClaimRequest,
  CompleteRequest,
  FailureRequest,
  LedgerStore,
  RejectionRequest,
  ReviewRequest,
} from './ledger-store';

/** States in which a key is never worked on again: a claim on it is a duplicate. */
const TERMINAL: ReadonlySet<string> = new Set([LEDGER_STATUS.COMPLETED, LEDGER_STATUS.IN_REVIEW, LEDGER_STATUS.REJECTED]);

export interface DynamoDbLedgerStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Items expire this many days after their last write (DynamoDB TTL). */
  readonly ttlDays: number;
}

/**
 * The ledger on DynamoDB: single-item conditional writes only (no transactions: they cost double
 * and the local emulator has none).
 *
 * Why not Powertools' idempotency utility: it does take over an expired INPROGRESS record (its
 * condition includes the in-progress expiry), but its save of the result is not conditioned on the
 * claim that made it, so a stale owner's write is not fenced; and its records are keyed
 * `<function>#<hash>` with a fixed INPROGRESS/COMPLETED/EXPIRED life cycle and expire after
 * `expiresAfterSeconds`. Here the item IS
 * the product's ledger: the key must be the bare input hash (shared by pipectl, monitors and other
 * functions), it carries REJECTED / FAILED / IN_REVIEW states and queryable attributes (job id,
 * tier, model, hour bucket), and a completed key must never be processed again, not just for an hour.
 */
export class DynamoDbLedgerStore implements LedgerStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly ttlSeconds: number;

  constructor(options: DynamoDbLedgerStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.ttlSeconds = Math.round(options.ttlDays * 86_400);
  }

  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    const { key, now } = request;
    try {
      const response = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER.PARTITION_KEY]: { S: key } },
          // Free, failed, or leased by someone whose lease has ended.
          ConditionExpression:
            'attribute_not_exists(#pk) OR #status = :failed OR (#status = :inProgress AND #leaseUntil < :now)',
          UpdateExpression:
            'SET #status = :inProgress, #leaseUntil = :leaseUntil, #claimToken = :claimToken, #task = :task, ' +
            '#taskVersion = :taskVersion, #messageId = :messageId, #updatedAt = :now, #expiresAt = :expiresAt, ' +
            '#firstSeenAt = if_not_exists(#firstSeenAt, :now)' +
            // The job's index key rides on the claim: no extra write (see ledger-index.ts).
            (request.jobId ? ', #jobId = :jobId, #jobShard = :jobShard' : '') +
            ' ADD #claims :one',
          ExpressionAttributeNames: {
            '#pk': LEDGER.PARTITION_KEY,
            '#status': LEDGER.STATUS,
            '#leaseUntil': 'leaseUntil',
            '#claimToken': 'claimToken',
            '#task': 'task',
            '#taskVersion': 'taskVersion',
            '#messageId': 'messageId',
            '#updatedAt': 'updatedAt',
            '#expiresAt': LEDGER.TTL,
            '#firstSeenAt': 'firstSeenAt',
            '#claims': 'claims',
            ...(request.jobId ? { '#jobId': LEDGER.JOB_ID, '#jobShard': LEDGER.JOB_SHARD } : {}),
          },
          ExpressionAttributeValues: {
            ':failed': { S: LEDGER_STATUS.FAILED },
            ':inProgress': { S: LEDGER_STATUS.IN_PROGRESS },
            ':now': { N: String(now) },
            ':leaseUntil': { N: String(request.leaseUntil) },
            ':claimToken': { S: request.claimToken },
            ':task': { S: request.task },
            ':taskVersion': { S: request.taskVersion },
            ':messageId': { S: request.messageId },
            ':expiresAt': { N: String(this.expiresAt(now)) },
            ':one': { N: '1' },
            ...(request.jobId ? { ':jobId': { S: request.jobId }, ':jobShard': { S: jobShardKey(request.jobId, key) } } : {}),
          },
          ReturnValues: 'ALL_OLD',
          // DynamoDB returns the blocking item with the failure, saving a read. The local emulator
          // ignores this parameter; then `conflict` falls back to one consistent read.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const previous = response.Attributes?.[LEDGER.STATUS]?.S as LedgerStatus | undefined;
      return { kind: 'claimed', takenOver: previous === LEDGER_STATUS.IN_PROGRESS, previousStatus: previous };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return this.conflict(key, error.Item, now);
      throw new DependencyError('dynamodb', `claim failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async complete(request: CompleteRequest): Promise<'completed' | 'already-completed'> {
    const features = request.features && Object.keys(request.features).length > 0 ? request.features : undefined;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER.PARTITION_KEY]: { S: request.key } },
          // An update of the claimed item: the first completion wins and takes ownership (its token),
          // so a late one — a stale owner whose lease was taken over, or the new owner after the
          // stale one finished first — is a duplicate, never a second result. The owner itself may
          // repeat its completion (a retried request) and overwrite with the same result.
          ConditionExpression: 'attribute_exists(#pk) AND (#status <> :completed OR #claimToken = :claimToken)',
          UpdateExpression:
            'SET #claimToken = :claimToken, #status = :completed, #result = :result, #tier = :tier, #modelId = :modelId, #tokensIn = :tokensIn, ' +
            '#tokensOut = :tokensOut, #modelLatencyMs = :modelLatencyMs, #modelCalls = :modelCalls, ' +
            // The hour index key and the drift features ride on the completion: no extra write.
            '#completedAt = :now, #hourShard = :hourShard, #updatedAt = :now, #expiresAt = :expiresAt' +
            (features ? ', #features = :features' : '') +
            ' REMOVE #leaseUntil, #lastError, #lastErrorClass',
          ExpressionAttributeNames: {
            '#pk': LEDGER.PARTITION_KEY,
            '#status': LEDGER.STATUS,
            '#claimToken': 'claimToken',
            '#result': 'result',
            '#tier': 'tier',
            '#modelId': 'modelId',
            '#tokensIn': 'tokensIn',
            '#tokensOut': 'tokensOut',
            '#modelLatencyMs': 'modelLatencyMs',
            '#modelCalls': 'modelCalls',
            '#completedAt': LEDGER.COMPLETED_AT,
            '#hourShard': LEDGER.HOUR_SHARD,
            ...(features ? { '#features': LEDGER.FEATURES } : {}),
            '#updatedAt': 'updatedAt',
            '#expiresAt': LEDGER.TTL,
            '#leaseUntil': 'leaseUntil',
            '#lastError': 'lastError',
            '#lastErrorClass': 'lastErrorClass',
          },
          ExpressionAttributeValues: {
            ':completed': { S: LEDGER_STATUS.COMPLETED },
            ':claimToken': { S: request.claimToken },
            ':result': { M: marshall(request.result as Record<string, unknown>, { removeUndefinedValues: true }) },
            ':tier': { S: request.tier },
            ':modelId': { S: request.modelId },
            ':tokensIn': { N: String(request.tokensIn) },
            ':tokensOut': { N: String(request.tokensOut) },
            ':modelLatencyMs': { N: String(Math.round(request.modelLatencyMs)) },
            ':modelCalls': { N: String(request.modelCalls) },
            ':now': { N: String(request.now) },
            ':hourShard': { S: hourShardKey(request.now, request.key) },
            ...(features ? { ':features': { M: marshall(features) } } : {}),
            ':expiresAt': { N: String(this.expiresAt(request.now)) },
          },
        }),
      );
      return 'completed';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'already-completed';
      throw new DependencyError('dynamodb', `complete failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async recordFailure(request: FailureRequest): Promise<void> {
    await this.guard('record failure', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER.PARTITION_KEY]: { S: request.key } },
          // Only the lease holder may release it; a completed key stays completed.
          ConditionExpression: '#claimToken = :claimToken AND #status = :inProgress',
          UpdateExpression:
            'SET #status = :failed, #lastErrorClass = :errorClass, #lastError = :message, #receiveCount = :receiveCount, ' +
            '#updatedAt = :now, #expiresAt = :expiresAt REMOVE #leaseUntil',
          ExpressionAttributeNames: {
            '#status': LEDGER.STATUS,
            '#claimToken': 'claimToken',
            '#lastErrorClass': 'lastErrorClass',
            '#lastError': 'lastError',
            '#receiveCount': 'receiveCount',
            '#updatedAt': 'updatedAt',
            '#expiresAt': LEDGER.TTL,
            '#leaseUntil': 'leaseUntil',
          },
          ExpressionAttributeValues: {
            ':claimToken': { S: request.claimToken },
            ':inProgress': { S: LEDGER_STATUS.IN_PROGRESS },
            ':failed': { S: LEDGER_STATUS.FAILED },
            ':errorClass': { S: request.errorClass },
            ':message': { S: request.message.slice(0, 1000) || '(no message)' },
            ':receiveCount': { N: String(request.receiveCount) },
            ':now': { N: String(request.now) },
            ':expiresAt': { N: String(this.expiresAt(request.now)) },
          },
        }),
      ),
    );
  }

  async recordRejection(request: RejectionRequest): Promise<void> {
    await this.guard('record rejection', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({
            [LEDGER.PARTITION_KEY]: request.key,
            [LEDGER.STATUS]: LEDGER_STATUS.REJECTED,
            reason: request.reason,
            detail: request.detail.slice(0, 1000),
            messageId: request.messageId,
            bodyBytes: request.bodyBytes,
            ...(request.jobId ? { [LEDGER.JOB_ID]: request.jobId, [LEDGER.JOB_SHARD]: jobShardKey(request.jobId, request.key) } : {}),
            updatedAt: request.now,
            [LEDGER.TTL]: this.expiresAt(request.now),
          }),
        }),
      ),
    );
  }

  async markInReview(request: ReviewRequest): Promise<void> {
    await this.guard('mark in review', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER.PARTITION_KEY]: { S: request.key } },
          ConditionExpression: '#claimToken = :claimToken AND #status = :inProgress',
          UpdateExpression:
            'SET #status = :inReview, #reviewReasons = :reasons, #updatedAt = :now, #expiresAt = :expiresAt REMOVE #leaseUntil',
          ExpressionAttributeNames: {
            '#status': LEDGER.STATUS,
            '#claimToken': 'claimToken',
            '#reviewReasons': 'reviewReasons',
            '#updatedAt': 'updatedAt',
            '#expiresAt': LEDGER.TTL,
            '#leaseUntil': 'leaseUntil',
          },
          ExpressionAttributeValues: {
            ':claimToken': { S: request.claimToken },
            ':inProgress': { S: LEDGER_STATUS.IN_PROGRESS },
            ':inReview': { S: LEDGER_STATUS.IN_REVIEW },
            ':reasons': { L: request.reasons.map((reason) => ({ S: reason.slice(0, 500) })) },
            ':now': { N: String(request.now) },
            ':expiresAt': { N: String(this.expiresAt(request.now)) },
          },
        }),
      ),
    );
  }

  /** Why a claim was refused: from the item DynamoDB returned, or (emulator) one consistent read. */
  private async conflict(key: string, returned: Record<string, AttributeValue> | undefined, now: number): Promise<ClaimOutcome> {
    let item = returned;
    if (!item) {
      const read = await this.guard('read conflicting claim', () =>
        this.client.send(
          new GetItemCommand({
            TableName: this.tableName,
            Key: { [LEDGER.PARTITION_KEY]: { S: key } },
            ConsistentRead: true,
            ProjectionExpression: '#status, #leaseUntil',
            ExpressionAttributeNames: { '#status': LEDGER.STATUS, '#leaseUntil': 'leaseUntil' },
          }),
        ),
      );
      item = read.Item;
    }
    const current = item ? unmarshall(item) : {};
    const status = current[LEDGER.STATUS] as LedgerStatus | undefined;
    if (status && TERMINAL.has(status)) return { kind: 'duplicate', status };
    // IN_PROGRESS with a live lease (or the item changed between the write and the read).
    return { kind: 'claimed-elsewhere', leaseUntil: Number(current.leaseUntil ?? now) };
  }

  private async guard<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new DependencyError('dynamodb', `${what}: the lease was lost to another invocation`, { cause: error });
      }
      throw new DependencyError('dynamodb', `${what} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private expiresAt(now: number): number {
    return Math.floor(now / 1000) + this.ttlSeconds;
  }
}
