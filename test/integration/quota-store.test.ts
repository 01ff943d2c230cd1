/**
 * The quota's shared counters and the breaker on emulated DynamoDB over HTTP: several
 * "environments" (separate objects, as separate Lambdas hold) racing on one slot; a burst of 429s
 * does not open the breaker, a burst of 5xx does.
 */
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BREAKER_STATE, CONTROL } from '../../lambda/contract';
import { MODEL_ERROR_CLASS, ModelCallError } from '../../lambda/errors/pipeline-errors';
import type { BreakerSettings } from '../../lambda/resilience/breaker-state';
import { DynamoDbBreakerStore } from '../../lambda/resilience/dynamodb-breaker-store';
import { DynamoDbQuotaStore } from '../../lambda/resilience/quota-store';
import { QuotaLimiter } from '../../lambda/resilience/rate-limiter';
import { breakerOutcomeOf, SharedBreaker } from '../../lambda/resilience/shared-breaker';
import { type Emulators, LOCAL_CREDENTIALS, startEmulators } from '../../local/emulators';

let emulators: Emulators;
let client: DynamoDBClient;
let table = '';
let tables = 0;

beforeAll(async () => {
  emulators = await startEmulators();
  client = new DynamoDBClient({ endpoint: emulators.dynamodbEndpoint, region: emulators.region, credentials: LOCAL_CREDENTIALS });
});
afterAll(async () => {
  client?.destroy();
  await emulators?.stop();
});
beforeEach(async () => {
  tables += 1;
  table = `control-quota-${tables}`;
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: CONTROL.PARTITION_KEY, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: CONTROL.PARTITION_KEY, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

const T = 1_800_000_000_000;

describe('DynamoDbQuotaStore', () => {
  it('lets concurrent environments take exactly a slot’s limit, no more', async () => {
    const store = new DynamoDbQuotaStore(client, table);
    const takes = await Promise.all(Array.from({ length: 30 }, () => store.take('m', 7, 0, { calls: 1, tokens: 40 }, { calls: 12 }, T)));
    expect(takes.filter(Boolean)).toHaveLength(12);
    const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `${CONTROL.QUOTA_PREFIX}m#7#0` } }, ConsistentRead: true }));
    expect(unmarshall(Item ?? {})).toMatchObject({ calls: 12, tokens: 480, expiresAt: Math.ceil(T / 1000) });
  });

  it('checks calls and tokens together: a call over either limit takes nothing', async () => {
    const store = new DynamoDbQuotaStore(client, table);
    expect(await store.take('m', 1, 0, { calls: 1, tokens: 700 }, { calls: 10, tokens: 1000 }, T)).toBe(true);
    expect(await store.take('m', 1, 0, { calls: 1, tokens: 400 }, { calls: 10, tokens: 1000 }, T)).toBe(false);
    expect(await store.take('m', 1, 0, { calls: 1, tokens: 300 }, { calls: 10, tokens: 1000 }, T)).toBe(true);
  });

  it('three environments with QuotaLimiters on one table never take more than a slot holds', async () => {
    const now = () => T + 10; // frozen inside one 1-second slot: only the current slot can be taken
    const limiters = Array.from(
      { length: 3 },
      () => new QuotaLimiter('m', new DynamoDbQuotaStore(client, table), { rpm: 600 }, { windowMs: 60_000, maxBurst: 10, now, sleep: async () => {} }),
    );
    const outcomes = await Promise.all(
      limiters.flatMap((limiter) =>
        Array.from({ length: 8 }, () =>
          limiter.acquire({ deadline: T + 10 }).then(
            () => 'ok',
            () => 'deferred',
          ),
        ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(10);
  });
});

describe('the breaker on both sides of the line', () => {
  const settings: BreakerSettings = {
    failureThreshold: 5,
    failureRatePercent: 0,
    minCalls: 10,
    windowMs: 60_000,
    cooldownMs: 1000,
    cacheMs: 0,
    probeLeaseMs: 500,
  };

  it.each([
    [
      'a burst of 429s with Retry-After',
      () => new ModelCallError(MODEL_ERROR_CLASS.THROTTLED, '429', { retryAfterMs: 500, status: 429 }),
      BREAKER_STATE.CLOSED,
    ],
    ['a burst of 503s', () => new ModelCallError(MODEL_ERROR_CLASS.SERVICE_UNAVAILABLE, '503', { status: 503 }), BREAKER_STATE.OPEN],
    ['a burst of timeouts', () => new ModelCallError(MODEL_ERROR_CLASS.TIMEOUT, 'timeout'), BREAKER_STATE.OPEN],
  ])('%s leaves the shared breaker %s', async (_, error, expected) => {
    const store = new DynamoDbBreakerStore(client, table);
    const breakers = Array.from({ length: 3 }, () => new SharedBreaker('m1', store, settings, {}, () => T));
    for (const breaker of breakers) {
      for (let i = 0; i < 10; i += 1) {
        const failure = error();
        await breaker.settle(await breaker.acquire(), breakerOutcomeOf(failure), failure.errorClass);
      }
    }
    await Promise.all(breakers.map((breaker) => breaker.flush()));
    const fresh = new SharedBreaker('m1', store, settings, {}, () => T);
    await fresh.refresh();
    expect(fresh.state.state).toBe(expected);
    expect(fresh.allowsCalls()).toBe(expected === BREAKER_STATE.CLOSED);
  });
});
