import { ConditionalCheckFailedException, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CONTROL, QUOTA } from '../contract';
import { DependencyError } from '../errors/pipeline-errors';

/** What one acquisition takes from a slot: calls and (an estimate of) model tokens. */
export interface QuotaDemand {
  readonly calls: number;
  readonly tokens: number;
}

/** A slot's capacity; an absent dimension is not limited. */
export interface SlotLimits {
  readonly calls?: number;
  readonly tokens?: number;
}

/**
 * The shared counters behind a quota: one counter pair (calls, tokens) per model, time slot and
 * shard. `take` adds the demand only if the slot stays within its limits, atomically, and says
 * whether it did: that one conditional write is the whole protocol, so every execution
 * environment can take from the same slot without reading it first and without transactions.
 */
export interface QuotaStore {
  take(modelId: string, slot: number, shard: number, demand: QuotaDemand, limits: SlotLimits, expiresAt: number): Promise<boolean>;
}

/**
 * The quota counters as control-table items (`quota#<model>#<slot>#<shard>`, shape `QUOTA` in
 * lambda/contract.ts), expired by the table's TTL. A slot item sees at most its limit of writes
 * that succeed, plus refusals; sharding (see QuotaLimiter) keeps one item under DynamoDB's
 * per-partition write rate for large quotas.
 */
export class DynamoDbQuotaStore implements QuotaStore {
  /** DynamoDB requests made, for tests and the bench. */
  readonly requests = { writes: 0, refused: 0 };

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async take(modelId: string, slot: number, shard: number, demand: QuotaDemand, limits: SlotLimits, expiresAt: number): Promise<boolean> {
    const conditions: string[] = [];
    const values: Record<string, { N: string }> = {
      ':calls': { N: String(demand.calls) },
      ':tokens': { N: String(demand.tokens) },
      ':expiresAt': { N: String(Math.ceil(expiresAt / 1000)) },
    };
    // "used ≤ limit − demand" before the ADD is "used + demand ≤ limit" after it.
    if (limits.calls !== undefined) {
      conditions.push('(attribute_not_exists(#calls) OR #calls <= :maxCalls)');
      values[':maxCalls'] = { N: String(limits.calls - demand.calls) };
      if (limits.calls - demand.calls < 0) return false;
    }
    if (limits.tokens !== undefined) {
      conditions.push('(attribute_not_exists(#tokens) OR #tokens <= :maxTokens)');
      values[':maxTokens'] = { N: String(limits.tokens - demand.tokens) };
      if (limits.tokens - demand.tokens < 0) return false;
    }
    this.requests.writes += 1;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.QUOTA_PREFIX}${modelId}#${slot}#${shard}` } },
          UpdateExpression: 'ADD #calls :calls, #tokens :tokens SET #ttl = :expiresAt',
          ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
          ExpressionAttributeNames: { '#calls': QUOTA.CALLS, '#tokens': QUOTA.TOKENS, '#ttl': CONTROL.TTL },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        this.requests.refused += 1;
        return false;
      }
      throw new DependencyError('dynamodb', `taking quota of ${modelId} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * The same counters in one process's memory: for tests (the virtual-clock properties of the
 * limiter) and for a provider that lives in the process (the simulated one). Same semantics as
 * the DynamoDB store: take all of the demand or none.
 */
export class InMemoryQuotaStore implements QuotaStore {
  private readonly slots = new Map<string, { calls: number; tokens: number }>();

  async take(modelId: string, slot: number, shard: number, demand: QuotaDemand, limits: SlotLimits): Promise<boolean> {
    const key = `${modelId}#${slot}#${shard}`;
    const used = this.slots.get(key) ?? { calls: 0, tokens: 0 };
    if (limits.calls !== undefined && used.calls + demand.calls > limits.calls) return false;
    if (limits.tokens !== undefined && used.tokens + demand.tokens > limits.tokens) return false;
    this.slots.set(key, { calls: used.calls + demand.calls, tokens: used.tokens + demand.tokens });
    return true;
  }

  /** What a slot holds (all shards), for tests. */
  used(modelId: string, slot: number): { calls: number; tokens: number } {
    let calls = 0;
    let tokens = 0;
    for (const [key, value] of this.slots) {
      if (key.startsWith(`${modelId}#${slot}#`)) {
        calls += value.calls;
        tokens += value.tokens;
      }
    }
    return { calls, tokens };
  }
}
