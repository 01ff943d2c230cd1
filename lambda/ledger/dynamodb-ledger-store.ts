import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { convertToAttr, marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { LEDGER, LEDGER_STATUS, type LedgerStatus } from '../contract';
import { DependencyError } from '../errors/pipeline-errors';
import { hourShardKey, jobShardKey } from './ledger-index';
import type {
  ShadowRequest,
  ClaimOutcome,
  ClaimRefusal,
  ClaimRequest,
  ClaimWriteOutcome,
  CompleteRequest,
  FailureRequest,
  LedgerStore,
  ObserveReceiveRequest,
  OutOfReceivesRequest,
  RejectionRequest,
  ReviewRequest,
  UnclaimedCompleteOutcome,
  UnclaimedCompleteRequest,
  WriteOptions,
} from './ledger-store';
import { conditionExpression, FINAL_FOR_PROCESSOR, GUARD_ATTRIBUTE, LEDGER_TRANSITION, type LedgerTransition, type WriteOutcome } from './ledger-transitions';

/** The guard values a write brings, by the placeholder names ledger-transitions.ts uses. */
interface GuardValues {
  readonly now: number;
  readonly claimToken?: string;
  readonly messageId?: string;
  readonly receiveCount?: number;
}

/** One fenced UpdateItem: the SET/REMOVE part, and its own names and values. */
interface FencedUpdate {
  readonly update: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, AttributeValue>;
}

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
 * Why not Powertools' idempotency utility (checked against @aws-lambda-powertools/idempotency
 * 2.35): it does take over an expired INPROGRESS record (its PutItem condition includes the
 * in-progress expiry), but its save of the result is an UpdateItem with no condition at all, so a
 * stale owner's write is not fenced; its records are keyed `<prefix>#<hash>` (the function name,
 * or the `keyPrefix` option), never the bare hash, with a fixed INPROGRESS/COMPLETED/EXPIRED life
 * cycle, and expire after `expiresAfterSeconds`. Here the item IS
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
    const by = this.claimedBy(request);
    const outcome = await this.claimWrite(LEDGER_TRANSITION.CLAIM, request, {
      update: `SET #status = :to, #leaseUntil = :leaseUntil, ${by.update}, #updatedAt = :now, #expiresAt = :expiresAt ADD #claims :one`,
      names: by.names,
      values: { ...by.values, ':to': { S: LEDGER_STATUS.IN_PROGRESS }, ':leaseUntil': { N: String(request.leaseUntil) } },
    });
    return outcome.kind === 'written' ? { kind: 'claimed', takenOver: outcome.takenOver, previousStatus: outcome.previousStatus } : outcome;
  }

  async completeUnclaimed(request: UnclaimedCompleteRequest): Promise<UnclaimedCompleteOutcome> {
    const by = this.claimedBy(request);
    const done = this.completion(request);
    const outcome = await this.claimWrite(LEDGER_TRANSITION.COMPLETE_UNCLAIMED, request, {
      update:
        `SET #status = :to, ${by.update}, ${done.update}, #updatedAt = :now, #expiresAt = :expiresAt ` +
        'REMOVE #leaseUntil, #lastError, #lastErrorClass ADD #claims :one',
      names: { ...by.names, ...done.names, '#lastError': 'lastError', '#lastErrorClass': 'lastErrorClass' },
      values: { ...by.values, ...done.values, ':to': { S: LEDGER_STATUS.COMPLETED } },
    });
    return outcome.kind === 'written' ? { kind: 'completed', takenOver: outcome.takenOver, previousStatus: outcome.previousStatus } : outcome;
  }

  /**
   * A write that starts a claim (the claim, or claim and complete at once): guarded as a claim, the
   * previous item returned with it, a refusal explained as a claim's (duplicate, claimed elsewhere).
   */
  private async claimWrite(transition: LedgerTransition, request: Omit<ClaimRequest, 'leaseUntil'>, write: FencedUpdate): Promise<ClaimWriteOutcome> {
    const { key, now } = request;
    const guard = this.guard(transition, { now });
    try {
      const response = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER.PARTITION_KEY]: { S: key } },
          ConditionExpression: guard.expression,
          UpdateExpression: write.update,
          ExpressionAttributeNames: { ...guard.names, ...write.names, '#updatedAt': 'updatedAt', '#expiresAt': LEDGER.TTL, '#claims': 'claims' },
          ExpressionAttributeValues: {
            ...guard.values,
            ...write.values,
            ':now': { N: String(now) },
            ':expiresAt': { N: String(this.expiresAt(now)) },
            ':one': { N: '1' },
          },
          ReturnValues: 'ALL_OLD',
          // DynamoDB returns the blocking item with the failure, saving a read. The local emulator
          // ignores this parameter; then `conflict` falls back to one consistent read.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: request.signal },
      );
      const previous = response.Attributes?.[LEDGER.STATUS]?.S as LedgerStatus | undefined;
      return { kind: 'written', takenOver: previous === LEDGER_STATUS.IN_PROGRESS, previousStatus: previous };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return this.conflict(key, error.Item, now, request);
      throw new DependencyError('dynamodb', `${transition} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** What a claim stores besides its status and lease: the attempt, its task, and the job of the first claimer. */
  private claimedBy(request: Omit<ClaimRequest, 'leaseUntil'>): FencedUpdate {
    const { key, jobId } = request;
    return {
      update:
        '#claimToken = :claimToken, #task = :task, #taskVersion = :taskVersion, #messageId = :messageId, #receiveCount = :receiveCount, ' +
        '#firstSeenAt = if_not_exists(#firstSeenAt, :now)' +
        // The job's index key rides on the claim: no extra write (see ledger-index.ts). The first
        // claimer's job wins: a re-send under another job id never moves the input to that job.
        (jobId ? ', #jobId = if_not_exists(#jobId, :jobId), #jobShard = if_not_exists(#jobShard, :jobShard)' : ''),
      names: {
        '#task': 'task',
        '#taskVersion': 'taskVersion',
        '#firstSeenAt': 'firstSeenAt',
        ...(jobId ? { '#jobId': LEDGER.JOB_ID, '#jobShard': LEDGER.JOB_SHARD } : {}),
      },
      values: {
        ':claimToken': { S: request.claimToken },
        ':task': { S: request.task },
        ':taskVersion': { S: request.taskVersion },
        ':messageId': { S: request.messageId },
        ':receiveCount': { N: String(request.receiveCount ?? 1) },
        ...(jobId ? { ':jobId': { S: jobId }, ':jobShard': { S: jobShardKey(jobId, key) } } : {}),
      },
    };
  }

  observeReceive(request: ObserveReceiveRequest): Promise<WriteOutcome> {
    return this.write(LEDGER_TRANSITION.OBSERVE_RECEIVE, request.key, request, request, {
      update: 'SET #receiveCount = :receiveCount, #updatedAt = :now',
      names: { '#updatedAt': 'updatedAt' },
      values: {},
    });
  }

  complete(request: CompleteRequest): Promise<WriteOutcome> {
    const done = this.completion(request);
    return this.write(LEDGER_TRANSITION.COMPLETE, request.key, request, request, {
      update: `SET #status = :to, ${done.update}, #updatedAt = :now, #expiresAt = :expiresAt REMOVE #leaseUntil, #lastError, #lastErrorClass`,
      names: { ...done.names, '#updatedAt': 'updatedAt', '#expiresAt': LEDGER.TTL, '#lastError': 'lastError', '#lastErrorClass': 'lastErrorClass' },
      values: { ...done.values, ':to': { S: LEDGER_STATUS.COMPLETED }, ':expiresAt': { N: String(this.expiresAt(request.now)) } },
    });
  }

  /** What a completion stores besides its status: the result, who served it, and (no extra write) its hour index key and drift features. */
  private completion(request: CompleteRequest): FencedUpdate {
    const features = request.features && Object.keys(request.features).length > 0 ? request.features : undefined;
    return {
      update:
        '#result = :result, #tier = :tier, #modelId = :modelId, #tokensIn = :tokensIn, #tokensOut = :tokensOut, ' +
        '#modelLatencyMs = :modelLatencyMs, #modelCalls = :modelCalls, #completedAt = :now, #hourShard = :hourShard' +
        (features ? ', #features = :features' : '') +
        (request.variant ? ', #variant = :variant' : '') +
        (request.promptVersion ? ', #promptVersion = :promptVersion' : ''),
      names: {
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
        ...(request.variant ? { '#variant': LEDGER.VARIANT } : {}),
        ...(request.promptVersion ? { '#promptVersion': LEDGER.PROMPT_VERSION } : {}),
      },
      values: {
        ':result': { M: marshall(request.result as Record<string, unknown>, { removeUndefinedValues: true }) },
        ':tier': { S: request.tier },
        ':modelId': { S: request.modelId },
        ':tokensIn': { N: String(request.tokensIn) },
        ':tokensOut': { N: String(request.tokensOut) },
        ':modelLatencyMs': { N: String(Math.round(request.modelLatencyMs)) },
        ':modelCalls': { N: String(request.modelCalls) },
        ':hourShard': { S: hourShardKey(request.now, request.key) },
        ...(features ? { ':features': { M: marshall(features) } } : {}),
        ...(request.variant ? { ':variant': { S: request.variant } } : {}),
        ...(request.promptVersion ? { ':promptVersion': { S: request.promptVersion } } : {}),
      },
    };
  }

  recordFailure(request: FailureRequest): Promise<WriteOutcome> {
    return this.write(LEDGER_TRANSITION.FAIL, request.key, request, { ...request, receiveCount: undefined }, this.failure(LEDGER_STATUS.FAILED, request));
  }

  recordDeadLetter(request: FailureRequest): Promise<WriteOutcome> {
    return this.write(
      LEDGER_TRANSITION.DEAD_LETTER,
      request.key,
      request,
      { ...request, receiveCount: undefined },
      this.failure(LEDGER_STATUS.DEAD_LETTERED, request),
    );
  }

  settleOutOfReceives(request: OutOfReceivesRequest): Promise<WriteOutcome> {
    return this.write(LEDGER_TRANSITION.OUT_OF_RECEIVES, request.key, request, request, {
      // The last error the processor recorded stays (what `pipectl dlq redrive --reason` matches and
      // an operator needs); the reconciler's own reason goes to settledReason.
      update:
        'SET #status = :to, #lastErrorClass = if_not_exists(#lastErrorClass, :errorClass), #lastError = if_not_exists(#lastError, :message), ' +
        '#settledReason = :message, #updatedAt = :now, #expiresAt = :expiresAt REMOVE #leaseUntil',
      names: {
        '#lastErrorClass': 'lastErrorClass',
        '#lastError': 'lastError',
        '#settledReason': 'settledReason',
        '#updatedAt': 'updatedAt',
        '#expiresAt': LEDGER.TTL,
      },
      values: {
        ':to': { S: LEDGER_STATUS.DEAD_LETTERED },
        ':errorClass': { S: 'OutOfReceives' },
        ':message': { S: request.reason.slice(0, 1000) || 'out of receives' },
        ':expiresAt': { N: String(this.expiresAt(request.now)) },
      },
    });
  }

  async recordShadow(request: ShadowRequest): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER.PARTITION_KEY]: { S: request.key } },
          UpdateExpression: 'SET #shadow = :shadow',
          ConditionExpression: '#status = :completed',
          ExpressionAttributeNames: { '#shadow': LEDGER.SHADOW, '#status': LEDGER.STATUS },
          ExpressionAttributeValues: {
            ':shadow': convertToAttr(request.shadow, { removeUndefinedValues: true }),
            ':completed': { S: LEDGER_STATUS.COMPLETED },
          },
        }),
        { abortSignal: request.signal },
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new DependencyError('dynamodb', `recording the shadow answer failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async recordRejection(request: RejectionRequest): Promise<WriteOutcome> {
    const guard = this.guard(LEDGER_TRANSITION.REJECT, { now: request.now });
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          // Only a new item: a redelivered bad message finds its rejection and is not sent to the DLQ again.
          ConditionExpression: guard.expression,
          ExpressionAttributeNames: { [GUARD_ATTRIBUTE.pk]: LEDGER.PARTITION_KEY },
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
        { abortSignal: request.signal },
      );
      return { kind: 'applied' };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return this.stale(request.key, error.Item, request);
      throw new DependencyError('dynamodb', `record rejection failed: ${(error as Error).message}`, { cause: error });
    }
  }

  markInReview(request: ReviewRequest): Promise<WriteOutcome> {
    return this.write(LEDGER_TRANSITION.REVIEW, request.key, request, request, {
      update: `SET #status = :to, #reviewReasons = :reasons, #updatedAt = :now, #expiresAt = :expiresAt${request.input === undefined ? '' : ', #input = :input'} REMOVE #leaseUntil`,
      names: {
        '#reviewReasons': 'reviewReasons',
        '#updatedAt': 'updatedAt',
        '#expiresAt': LEDGER.TTL,
        ...(request.input === undefined ? {} : { '#input': 'input' }),
      },
      values: {
        ':to': { S: LEDGER_STATUS.IN_REVIEW },
        ':reasons': { L: request.reasons.map((reason) => ({ S: reason.slice(0, 500) })) },
        ':expiresAt': { N: String(this.expiresAt(request.now)) },
        ...(request.input === undefined ? {} : { ':input': convertToAttr(request.input, { removeUndefinedValues: true }) }),
      },
    });
  }

  private failure(to: LedgerStatus, request: FailureRequest): FencedUpdate {
    return {
      update:
        // The receive count stays the claim's (or a later receive's, see observeReceive): a failure
        // of an earlier receive must not lower it below the last one.
        'SET #status = :to, #lastErrorClass = :errorClass, #lastError = :message, #lastFailedReceive = :failedReceiveCount, ' +
        '#updatedAt = :now, #expiresAt = :expiresAt REMOVE #leaseUntil',
      names: {
        '#lastErrorClass': 'lastErrorClass',
        '#lastError': 'lastError',
        '#lastFailedReceive': 'lastFailedReceive',
        '#updatedAt': 'updatedAt',
        '#expiresAt': LEDGER.TTL,
      },
      values: {
        ':to': { S: to },
        ':errorClass': { S: request.errorClass },
        ':message': { S: request.message.slice(0, 1000) || '(no message)' },
        ':failedReceiveCount': { N: String(request.receiveCount) },
        ':expiresAt': { N: String(this.expiresAt(request.now)) },
      },
    };
  }

  /** The condition of `transition` from the table, with the names and values it uses. */
  private guard(
    transition: LedgerTransition,
    guardValues: GuardValues,
  ): { expression: string; names: Record<string, string>; values: Record<string, AttributeValue> } {
    const { expression, values: needed } = conditionOf(transition);
    const values: Record<string, AttributeValue> = {};
    for (const name of needed) {
      if (name.startsWith(':st_')) values[name] = { S: name.slice(':st_'.length) };
      else if (name === ':now') values[name] = { N: String(guardValues.now) };
      else if (name === ':claimToken') values[name] = { S: String(guardValues.claimToken) };
      else if (name === ':messageId') values[name] = { S: String(guardValues.messageId) };
      else if (name === ':receiveCount') values[name] = { N: String(guardValues.receiveCount ?? 0) };
    }
    const a = GUARD_ATTRIBUTE;
    const names: Record<string, string> = {
      [a.pk]: LEDGER.PARTITION_KEY,
      [a.status]: LEDGER.STATUS,
      [a.claimToken]: 'claimToken',
      [a.leaseUntil]: 'leaseUntil',
      [a.messageId]: 'messageId',
      [a.receiveCount]: 'receiveCount',
    };
    return { expression, names, values };
  }

  /** One fenced UpdateItem of the table's `transition`; a false guard is `stale`, not an error. */
  private async write(transition: LedgerTransition, key: string, options: WriteOptions, guardValues: GuardValues, fenced: FencedUpdate): Promise<WriteOutcome> {
    const guard = this.guard(transition, guardValues);
    const expressionText = `${guard.expression} ${fenced.update}`;
    const values: Record<string, AttributeValue> = { ':now': { N: String(guardValues.now) }, ...guard.values, ...fenced.values };
    if (guardValues.receiveCount !== undefined) values[':receiveCount'] ??= { N: String(guardValues.receiveCount) };
    // DynamoDB refuses names and values that the expressions do not use.
    const used = placeholdersOf(expressionText);
    const names: Record<string, string> = {};
    for (const [name, attribute] of Object.entries(guard.names)) if (used.has(name)) names[name] = attribute;
    for (const [name, attribute] of Object.entries(fenced.names)) if (used.has(name)) names[name] = attribute;
    const usedValues: Record<string, AttributeValue> = {};
    for (const [name, value] of Object.entries(values)) if (used.has(name)) usedValues[name] = value;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER.PARTITION_KEY]: { S: key } },
          ConditionExpression: guard.expression,
          UpdateExpression: fenced.update,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: usedValues,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: options.signal },
      );
      return { kind: 'applied' };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return this.stale(key, error.Item, options);
      throw new DependencyError('dynamodb', `${transition} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** A refused write: what the item is now (from the returned item, or one consistent read). */
  private async stale(key: string, returned: Record<string, AttributeValue> | undefined, options: WriteOptions): Promise<WriteOutcome> {
    const current = await this.current(key, returned, options);
    return { kind: 'stale', status: current[LEDGER.STATUS] as LedgerStatus | undefined, messageId: current.messageId as string | undefined };
  }

  /** Why a claim was refused: from the item DynamoDB returned, or (emulator) one consistent read. */
  private async conflict(key: string, returned: Record<string, AttributeValue> | undefined, now: number, options: WriteOptions): Promise<ClaimRefusal> {
    const current = await this.current(key, returned, options);
    const status = current[LEDGER.STATUS] as LedgerStatus | undefined;
    if (status && FINAL_FOR_PROCESSOR.has(status)) return { kind: 'duplicate', status };
    // IN_PROGRESS with a live lease (or the item changed between the write and the read).
    return {
      kind: 'claimed-elsewhere',
      leaseUntil: Number(current.leaseUntil ?? now),
      messageId: current.messageId as string | undefined,
      receiveCount: current.receiveCount === undefined ? undefined : Number(current.receiveCount),
    };
  }

  private async current(key: string, returned: Record<string, AttributeValue> | undefined, options: WriteOptions): Promise<Record<string, unknown>> {
    if (returned) return unmarshall(returned);
    try {
      const read = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER.PARTITION_KEY]: { S: key } },
          ConsistentRead: true,
          ProjectionExpression: '#status, #leaseUntil, #messageId, #receiveCount',
          ExpressionAttributeNames: { '#status': LEDGER.STATUS, '#leaseUntil': 'leaseUntil', '#messageId': 'messageId', '#receiveCount': 'receiveCount' },
        }),
        { abortSignal: options.signal },
      );
      return read.Item ? unmarshall(read.Item) : {};
    } catch (error) {
      throw new DependencyError('dynamodb', `read the ledger item failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private expiresAt(now: number): number {
    return Math.floor(now / 1000) + this.ttlSeconds;
  }
}

/**
 * The placeholders (`#name`, `:value`) an expression uses, each as a whole word. Cached: a store
 * writes a handful of distinct expressions (one per transition and optional part), and this runs on
 * every write of the hot path (issue 17's profile had a RegExp per placeholder per write).
 */
const placeholderCache = new Map<string, ReadonlySet<string>>();
function placeholdersOf(expression: string): ReadonlySet<string> {
  let used = placeholderCache.get(expression);
  if (!used) {
    used = new Set(expression.match(/[#:][A-Za-z0-9_]+/g) ?? []);
    // Bounded: expressions are built from a fixed set of parts, but never let a bug grow this without end.
    if (placeholderCache.size < 256) placeholderCache.set(expression, used);
  }
  return used;
}

/** A transition's condition, built once per transition. */
const conditionCache = new Map<LedgerTransition, ReturnType<typeof conditionExpression>>();
function conditionOf(transition: LedgerTransition): ReturnType<typeof conditionExpression> {
  let condition = conditionCache.get(transition);
  if (!condition) {
    condition = conditionExpression(transition);
    conditionCache.set(transition, condition);
  }
  return condition;
}
