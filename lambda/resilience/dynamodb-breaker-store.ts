import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { BREAKER, BREAKER_FORCED, BREAKER_STATE, type BreakerStateName, CONTROL } from '../contract';
import { DependencyError } from '../errors/pipeline-errors';
import { type BreakerSnapshot, CLOSED_SNAPSHOT } from './breaker-state';

/** Counts one instance adds to the window at once. */
export interface BreakerCounts {
  readonly calls: number;
  readonly failures: number;
  readonly lastErrorClass?: string;
}

/**
 * The breaker items of the control table (shape: `BREAKER` in lambda/contract.ts). Every change is
 * one conditional UpdateItem, so concurrent instances agree without transactions: exactly one of
 * them opens a closed breaker, exactly one takes the half-open probe, and only the probe's owner
 * closes or reopens it.
 */
export class DynamoDbBreakerStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async read(modelId: string): Promise<BreakerSnapshot> {
    try {
      const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(modelId), ConsistentRead: true }));
      return toSnapshot(Item);
    } catch (error) {
      throw new DependencyError('dynamodb', `reading the breaker of ${modelId} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Adds counts to the window that starts at `windowStart`, rolling the item over to that window
   * first when it still holds an older one. Returns the item as written.
   */
  async record(modelId: string, counts: BreakerCounts, windowStart: number, windowMs: number, now: number): Promise<BreakerSnapshot> {
    const common: { names: Record<string, string>; values: Record<string, AttributeValue> } = {
      names: { '#windowStart': BREAKER.WINDOW_START, '#failures': BREAKER.FAILURES, '#calls': BREAKER.CALLS, '#updatedAt': BREAKER.UPDATED_AT },
      values: { ':ws': { N: String(windowStart) }, ':f': { N: String(counts.failures) }, ':c': { N: String(counts.calls) }, ':now': { N: String(now) } },
    };
    const lastError: { set: string; names: Record<string, string>; values: Record<string, AttributeValue> } = counts.lastErrorClass
      ? {
          set: ', #lastErrorClass = :lastErrorClass',
          names: { '#lastErrorClass': BREAKER.LAST_ERROR_CLASS },
          values: { ':lastErrorClass': { S: counts.lastErrorClass } },
        }
      : { set: '', names: {}, values: {} };
    const attempts: Array<Omit<UpdateItemCommandInput, 'TableName' | 'Key'>> = [
      // 1. The usual case: the item is in this window already.
      {
        ConditionExpression: '#windowStart = :ws',
        UpdateExpression: `SET #updatedAt = :now${lastError.set} ADD #failures :f, #calls :c`,
        ExpressionAttributeNames: { ...common.names, ...lastError.names },
        ExpressionAttributeValues: { ...common.values, ...lastError.values },
      },
      // 2. It holds the window just before: that becomes the previous window. (Every operand of an
      //    update expression reads the item as it was before the update.)
      {
        ConditionExpression: '#windowStart = :previous',
        UpdateExpression: `SET #previousFailures = #failures, #previousCalls = #calls, #failures = :f, #calls = :c, #windowStart = :ws, #updatedAt = :now${lastError.set}`,
        ExpressionAttributeNames: {
          ...common.names,
          ...lastError.names,
          '#previousFailures': BREAKER.PREVIOUS_FAILURES,
          '#previousCalls': BREAKER.PREVIOUS_CALLS,
        },
        ExpressionAttributeValues: { ...common.values, ...lastError.values, ':previous': { N: String(windowStart - windowMs) } },
      },
      // 3. No item, or an older window: start afresh (a new item starts closed).
      {
        ConditionExpression: 'attribute_not_exists(#windowStart) OR #windowStart < :previous',
        UpdateExpression:
          `SET #previousFailures = :zero, #previousCalls = :zero, #failures = :f, #calls = :c, #windowStart = :ws, #updatedAt = :now, ` +
          `#state = if_not_exists(#state, :closed), #modelId = :modelId${lastError.set}`,
        ExpressionAttributeNames: {
          ...common.names,
          ...lastError.names,
          '#previousFailures': BREAKER.PREVIOUS_FAILURES,
          '#previousCalls': BREAKER.PREVIOUS_CALLS,
          '#state': BREAKER.STATE,
          '#modelId': BREAKER.MODEL_ID,
        },
        ExpressionAttributeValues: {
          ...common.values,
          ...lastError.values,
          ':previous': { N: String(windowStart - windowMs) },
          ':zero': { N: '0' },
          ':closed': { S: BREAKER_STATE.CLOSED },
          ':modelId': { S: modelId },
        },
      },
    ];
    // Another instance may roll the window over between our attempts; then the first one fits.
    for (const attempt of [...attempts, ...attempts.slice(0, 1)]) {
      const written = await this.update(modelId, attempt, 'count calls');
      if (written) return written;
    }
    // A window newer than ours (a clock ahead of this one): our counts belong to the past; drop them.
    return this.read(modelId);
  }

  /** Closed → open, once: true for the one instance whose write made the transition. */
  async open(modelId: string, now: number, openUntil: number, lastErrorClass: string | undefined): Promise<boolean> {
    const written = await this.update(
      modelId,
      {
        ConditionExpression: '(attribute_not_exists(#state) OR #state = :closed) AND (attribute_not_exists(#forced) OR #forced <> :forcedClosed)',
        UpdateExpression: 'SET #state = :open, #openedAt = :now, #openUntil = :openUntil, #updatedAt = :now, #lastErrorClass = :errorClass ADD #openCount :one',
        ExpressionAttributeNames: {
          '#state': BREAKER.STATE,
          '#forced': BREAKER.FORCED,
          '#openedAt': BREAKER.OPENED_AT,
          '#openUntil': BREAKER.OPEN_UNTIL,
          '#updatedAt': BREAKER.UPDATED_AT,
          '#lastErrorClass': BREAKER.LAST_ERROR_CLASS,
          '#openCount': BREAKER.OPEN_COUNT,
        },
        ExpressionAttributeValues: {
          ':closed': { S: BREAKER_STATE.CLOSED },
          ':open': { S: BREAKER_STATE.OPEN },
          ':forcedClosed': { S: BREAKER_FORCED.CLOSED },
          ':now': { N: String(now) },
          ':openUntil': { N: String(openUntil) },
          ':errorClass': { S: lastErrorClass ?? 'Unknown' },
          ':one': { N: '1' },
        },
      },
      'open',
    );
    return written !== undefined;
  }

  /** Open (cooldown over) or half-open with an expired probe lease → half-open with our token, for one instance. */
  async takeProbe(modelId: string, token: string, now: number, probeUntil: number): Promise<BreakerSnapshot | undefined> {
    return this.update(
      modelId,
      {
        ConditionExpression:
          '(attribute_not_exists(#forced) OR #forced <> :forcedOpen) AND ((#state = :open AND #openUntil <= :now) OR (#state = :halfOpen AND #probeUntil < :now))',
        UpdateExpression: 'SET #state = :halfOpen, #probeToken = :token, #probeUntil = :probeUntil, #updatedAt = :now',
        ExpressionAttributeNames: {
          '#state': BREAKER.STATE,
          '#forced': BREAKER.FORCED,
          '#openUntil': BREAKER.OPEN_UNTIL,
          '#probeToken': BREAKER.PROBE_TOKEN,
          '#probeUntil': BREAKER.PROBE_UNTIL,
          '#updatedAt': BREAKER.UPDATED_AT,
        },
        ExpressionAttributeValues: {
          ':open': { S: BREAKER_STATE.OPEN },
          ':halfOpen': { S: BREAKER_STATE.HALF_OPEN },
          ':forcedOpen': { S: BREAKER_FORCED.OPEN },
          ':now': { N: String(now) },
          ':token': { S: token },
          ':probeUntil': { N: String(probeUntil) },
        },
      },
      'take the probe',
    );
  }

  /** The probe succeeded: half-open → closed with an empty window (only the probe's owner may). */
  async closeAfterProbe(modelId: string, token: string, now: number, windowStart: number): Promise<BreakerSnapshot | undefined> {
    return this.update(
      modelId,
      {
        ConditionExpression: '#state = :halfOpen AND #probeToken = :token',
        UpdateExpression:
          'SET #state = :closed, #failures = :zero, #calls = :zero, #previousFailures = :zero, #previousCalls = :zero, #windowStart = :ws, #updatedAt = :now ' +
          'REMOVE #probeToken, #probeUntil, #openUntil',
        ExpressionAttributeNames: {
          '#state': BREAKER.STATE,
          '#probeToken': BREAKER.PROBE_TOKEN,
          '#probeUntil': BREAKER.PROBE_UNTIL,
          '#openUntil': BREAKER.OPEN_UNTIL,
          '#failures': BREAKER.FAILURES,
          '#calls': BREAKER.CALLS,
          '#previousFailures': BREAKER.PREVIOUS_FAILURES,
          '#previousCalls': BREAKER.PREVIOUS_CALLS,
          '#windowStart': BREAKER.WINDOW_START,
          '#updatedAt': BREAKER.UPDATED_AT,
        },
        ExpressionAttributeValues: {
          ':halfOpen': { S: BREAKER_STATE.HALF_OPEN },
          ':closed': { S: BREAKER_STATE.CLOSED },
          ':token': { S: token },
          ':zero': { N: '0' },
          ':ws': { N: String(windowStart) },
          ':now': { N: String(now) },
        },
      },
      'close after the probe',
    );
  }

  /** The probe failed: half-open → open for another cooldown (only the probe's owner may). */
  async reopenAfterProbe(modelId: string, token: string, now: number, openUntil: number, lastErrorClass: string): Promise<BreakerSnapshot | undefined> {
    return this.update(
      modelId,
      {
        ConditionExpression: '#state = :halfOpen AND #probeToken = :token',
        UpdateExpression: 'SET #state = :open, #openUntil = :openUntil, #updatedAt = :now, #lastErrorClass = :errorClass REMOVE #probeToken, #probeUntil',
        ExpressionAttributeNames: {
          '#state': BREAKER.STATE,
          '#probeToken': BREAKER.PROBE_TOKEN,
          '#probeUntil': BREAKER.PROBE_UNTIL,
          '#openUntil': BREAKER.OPEN_UNTIL,
          '#updatedAt': BREAKER.UPDATED_AT,
          '#lastErrorClass': BREAKER.LAST_ERROR_CLASS,
        },
        ExpressionAttributeValues: {
          ':halfOpen': { S: BREAKER_STATE.HALF_OPEN },
          ':open': { S: BREAKER_STATE.OPEN },
          ':token': { S: token },
          ':openUntil': { N: String(openUntil) },
          ':now': { N: String(now) },
          ':errorClass': { S: lastErrorClass },
        },
      },
      'reopen after the probe',
    );
  }

  /**
   * The probe was never made (too little time left to call): its lease ends now, so another
   * instance may probe at once instead of waiting out the lease (only the probe's owner may).
   */
  async releaseProbe(modelId: string, token: string, now: number): Promise<BreakerSnapshot | undefined> {
    return this.update(
      modelId,
      {
        ConditionExpression: '#state = :halfOpen AND #probeToken = :token',
        UpdateExpression: 'SET #probeUntil = :ended, #updatedAt = :now REMOVE #probeToken',
        ExpressionAttributeNames: {
          '#state': BREAKER.STATE,
          '#probeToken': BREAKER.PROBE_TOKEN,
          '#probeUntil': BREAKER.PROBE_UNTIL,
          '#updatedAt': BREAKER.UPDATED_AT,
        },
        ExpressionAttributeValues: {
          ':halfOpen': { S: BREAKER_STATE.HALF_OPEN },
          ':token': { S: token },
          // takeProbe needs `probeUntil < now`: one millisecond before now has ended on every clock that agrees with ours.
          ':ended': { N: String(now - 1) },
          ':now': { N: String(now) },
        },
      },
      'release the probe',
    );
  }

  /** One conditional update; undefined when its condition did not hold. */
  private async update(modelId: string, input: Omit<UpdateItemCommandInput, 'TableName' | 'Key'>, what: string): Promise<BreakerSnapshot | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({ ...input, TableName: this.tableName, Key: this.key(modelId), ReturnValues: 'ALL_NEW' }),
      );
      return toSnapshot(Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw new DependencyError('dynamodb', `breaker of ${modelId}: ${what} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private key(modelId: string): Record<string, AttributeValue> {
    return { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.BREAKER_PREFIX}${modelId}` } };
  }
}

/** The item as a snapshot; missing attributes take the closed, empty values. */
export function toSnapshot(item: Record<string, AttributeValue> | undefined): BreakerSnapshot {
  if (!item) return CLOSED_SNAPSHOT;
  const raw = unmarshall(item);
  const number = (name: string) => (typeof raw[name] === 'number' ? (raw[name] as number) : 0);
  const state = raw[BREAKER.STATE];
  const forced = raw[BREAKER.FORCED];
  return {
    state: state === BREAKER_STATE.OPEN || state === BREAKER_STATE.HALF_OPEN ? (state as BreakerStateName) : BREAKER_STATE.CLOSED,
    ...(forced === BREAKER_FORCED.OPEN || forced === BREAKER_FORCED.CLOSED ? { forced } : {}),
    windowStart: number(BREAKER.WINDOW_START),
    failures: number(BREAKER.FAILURES),
    calls: number(BREAKER.CALLS),
    previousFailures: number(BREAKER.PREVIOUS_FAILURES),
    previousCalls: number(BREAKER.PREVIOUS_CALLS),
    openUntil: number(BREAKER.OPEN_UNTIL),
    probeUntil: number(BREAKER.PROBE_UNTIL),
    ...(typeof raw[BREAKER.PROBE_TOKEN] === 'string' ? { probeToken: raw[BREAKER.PROBE_TOKEN] as string } : {}),
    openCount: number(BREAKER.OPEN_COUNT),
  };
}
