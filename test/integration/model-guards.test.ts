/**
 * The shared breaker, the hourly budget and the per-key call counter on emulated DynamoDB over
 * HTTP: many "instances" (separate objects, as separate Lambdas would hold) racing on one item.
 */
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BREAKER, BREAKER_STATE, CONTROL } from '../../lambda/contract';
import type { BreakerSettings } from '../../lambda/resilience/breaker-state';
import { HourlyBudget, hourOf } from '../../lambda/resilience/budget';
import { DynamoDbBreakerStore } from '../../lambda/resilience/dynamodb-breaker-store';
import { KeyCallCounter } from '../../lambda/resilience/key-call-counter';
import { SharedBreaker } from '../../lambda/resilience/shared-breaker';
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
  table = `control-${tables}`;
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: CONTROL.PARTITION_KEY, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: CONTROL.PARTITION_KEY, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

const settings: BreakerSettings = {
  failureThreshold: 5,
  failureRatePercent: 0,
  minCalls: 10,
  windowMs: 60_000,
  cooldownMs: 1000,
  cacheMs: 0,
  probeLeaseMs: 500,
};
const T = 1_800_000_000_000 + 10_000;

async function breakerItem(modelId: string): Promise<Record<string, any>> {
  const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `${CONTROL.BREAKER_PREFIX}${modelId}` } }, ConsistentRead: true }));
  return Item ? unmarshall(Item) : {};
}

/** `count` breakers of one model, sharing a virtual clock: separate instances, one item. */
function instances(count: number, now: () => number, overrides: Partial<BreakerSettings> = {}) {
  const store = new DynamoDbBreakerStore(client, table);
  return Array.from({ length: count }, () => new SharedBreaker('m1', store, { ...settings, ...overrides }, {}, now));
}

/** What an invocation does: read the state (cacheMs 0 here: every time), then ask. */
async function ask(breaker: SharedBreaker) {
  await breaker.refresh();
  return breaker.acquire();
}

describe('DynamoDbBreakerStore', () => {
  it('rolls the window over: the current window becomes the previous one, reading the old values', async () => {
    const store = new DynamoDbBreakerStore(client, table);
    await store.record('m1', { calls: 10, failures: 3, lastErrorClass: 'Throttled' }, T - 10_000, 60_000, T);
    await store.record('m1', { calls: 2, failures: 1 }, T - 10_000, 60_000, T);
    const rolled = await store.record('m1', { calls: 4, failures: 0 }, T - 10_000 + 60_000, 60_000, T + 60_000);
    expect(rolled).toMatchObject({ state: 'closed', calls: 4, failures: 0, previousCalls: 12, previousFailures: 4, windowStart: T + 50_000 });
    // Two windows later: nothing of the old ones is left.
    const fresh = await store.record('m1', { calls: 1, failures: 1 }, T - 10_000 + 180_000, 60_000, T + 180_000);
    expect(fresh).toMatchObject({ calls: 1, failures: 1, previousCalls: 0, previousFailures: 0 });
    expect(await breakerItem('m1')).toMatchObject({ [BREAKER.MODEL_ID]: 'm1', [BREAKER.LAST_ERROR_CLASS]: 'Throttled' });
  });

  it('counts every concurrent ADD exactly once', async () => {
    const store = new DynamoDbBreakerStore(client, table);
    await Promise.all(Array.from({ length: 20 }, () => store.record('m1', { calls: 3, failures: 1 }, T - 10_000, 60_000, T)));
    expect(await breakerItem('m1')).toMatchObject({ calls: 60, failures: 20 });
  });
});

describe('SharedBreaker', () => {
  it('writes nothing on the happy path', async () => {
    const [breaker] = instances(1, () => T);
    for (let i = 0; i < 50; i += 1) {
      const permit = await breaker!.acquire();
      await breaker!.settle(permit, 'success');
    }
    await breaker!.flush();
    expect(breaker!.requests.writes).toBe(0);
    expect(await breakerItem('m1')).toEqual({});
  });

  it('reads the shared state at most once per cache period', async () => {
    let now = T;
    const store = new DynamoDbBreakerStore(client, table);
    const breaker = new SharedBreaker('m1', store, { ...settings, cacheMs: 2000 }, {}, () => now);
    for (let i = 0; i < 10; i += 1) {
      await breaker.refresh();
      await breaker.acquire();
    }
    expect(breaker.requests.reads).toBe(1);
    now += 2000;
    await breaker.refresh();
    expect(breaker.requests.reads).toBe(2);
  });

  it('opens once when failures from several instances reach the threshold, and then refuses calls everywhere', async () => {
    const now = T;
    const opened: string[] = [];
    const store = new DynamoDbBreakerStore(client, table);
    const breakers = Array.from({ length: 4 }, () => new SharedBreaker('m1', store, settings, { onOpened: (model) => opened.push(model) }, () => now));
    // Two failures in each of four instances: 8 ≥ 5, but no single instance has 5.
    for (const breaker of breakers) {
      for (let i = 0; i < 2; i += 1) await breaker.settle(await ask(breaker), 'failure', 'ServiceUnavailable');
    }
    await Promise.all(breakers.map((breaker) => breaker.flush()));
    expect(opened).toEqual(['m1']);
    const item = await breakerItem('m1');
    expect(item).toMatchObject({ state: BREAKER_STATE.OPEN, openCount: 1, openUntil: now + settings.cooldownMs, lastErrorClass: 'ServiceUnavailable' });
    for (const breaker of breakers) expect(await ask(breaker)).toMatchObject({ kind: 'denied', reason: 'open' });
  });

  it('flushes at once when one instance alone reaches the threshold', async () => {
    const [breaker] = instances(1, () => T);
    for (let i = 0; i < settings.failureThreshold; i += 1) await breaker!.settle({ kind: 'call' }, 'failure', 'Timeout');
    expect((await breakerItem('m1')).state).toBe(BREAKER_STATE.OPEN);
  });

  it('lets exactly ONE probe through across instances after the cooldown; its success closes the breaker', async () => {
    let now = T;
    const breakers = instances(8, () => now);
    for (let i = 0; i < 5; i += 1) await breakers[0]!.settle({ kind: 'call' }, 'failure', 'ServiceUnavailable');
    expect((await breakerItem('m1')).state).toBe(BREAKER_STATE.OPEN);

    now += settings.cooldownMs;
    // Eight instances, three records each, all asking at once.
    const permits = (
      await Promise.all(
        breakers.map(async (breaker) => {
          await breaker.refresh(); // once per invocation
          return Promise.all([breaker.acquire(), breaker.acquire(), breaker.acquire()]);
        }),
      )
    ).flat();
    const probes = permits.filter((permit) => permit.kind === 'probe');
    expect(probes).toHaveLength(1);
    expect(permits.filter((permit) => permit.kind === 'call')).toHaveLength(0);
    expect((await breakerItem('m1')).state).toBe(BREAKER_STATE.HALF_OPEN);

    const owner = breakers[(permits.indexOf(probes[0]!) / 3) | 0]!;
    await owner.settle(probes[0]!, 'success');
    const item = await breakerItem('m1');
    expect(item).toMatchObject({ state: BREAKER_STATE.CLOSED, failures: 0, calls: 0 });
    expect(item[BREAKER.PROBE_TOKEN]).toBeUndefined();
    for (const breaker of breakers) expect(await ask(breaker)).toEqual({ kind: 'call' });
  });

  it('reopens for another cooldown when the probe fails, without counting a new opening', async () => {
    let now = T;
    const [first, second] = instances(2, () => now);
    for (let i = 0; i < 5; i += 1) await first!.settle({ kind: 'call' }, 'failure', 'ServiceUnavailable');
    now += settings.cooldownMs;
    const probe = await ask(first!);
    expect(probe.kind).toBe('probe');
    await first!.settle(probe, 'failure', 'ServiceUnavailable');
    expect(await breakerItem('m1')).toMatchObject({ state: BREAKER_STATE.OPEN, openUntil: now + settings.cooldownMs, openCount: 1 });
    expect(await ask(second!)).toMatchObject({ kind: 'denied', reason: 'open' });
  });

  it('lets another instance probe when the probe owner died (its lease ran out)', async () => {
    let now = T;
    const [dead, alive] = instances(2, () => now);
    for (let i = 0; i < 5; i += 1) await dead!.settle({ kind: 'call' }, 'failure', 'Timeout');
    now += settings.cooldownMs;
    expect((await ask(dead!)).kind).toBe('probe'); // and then it never settles
    expect(await ask(alive!)).toMatchObject({ kind: 'denied', reason: 'probing' });
    now += settings.probeLeaseMs + 1;
    const second = await ask(alive!);
    expect(second.kind).toBe('probe');
    // The dead one's late answer cannot close it: the probe is not its any more.
    await dead!.settle({ kind: 'probe', token: 'stale' }, 'success');
    expect((await breakerItem('m1')).state).toBe(BREAKER_STATE.HALF_OPEN);
  });

  it('obeys a forced state written by an operator (pipectl breaker open|close)', async () => {
    const now = T;
    const [breaker] = instances(1, () => now);
    await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: `${CONTROL.BREAKER_PREFIX}m1` }, [BREAKER.FORCED]: { S: 'open' } } }));
    expect(await ask(breaker!)).toMatchObject({ kind: 'denied', reason: 'forced-open' });

    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          pk: { S: `${CONTROL.BREAKER_PREFIX}m1` },
          [BREAKER.FORCED]: { S: 'closed' },
          [BREAKER.STATE]: { S: 'open' },
          [BREAKER.OPEN_UNTIL]: { N: String(now + 60_000) },
        },
      }),
    );
    expect(await ask(breaker!)).toEqual({ kind: 'call' });
    // Forced closed: failures are counted but never open it.
    for (let i = 0; i < 10; i += 1) await breaker!.settle({ kind: 'call' }, 'failure', 'ServerError');
    await breaker!.flush();
    expect(await breakerItem('m1')).toMatchObject({ forced: 'closed', state: 'open', failures: 10 });
    expect(await ask(breaker!)).toEqual({ kind: 'call' });
  });
});

describe('HourlyBudget', () => {
  it("counts a batch with one ADD, and all instances see the hour's total in their next check", async () => {
    const now = Date.UTC(2026, 10, 23, 14, 30);
    const budgets = Array.from({ length: 3 }, () => new HourlyBudget(client, table, { tokensPerHour: 1000, usdPerHour: 0 }, () => now));
    for (const budget of budgets) {
      budget.record(100, 50, 0.001);
      budget.record(100, 50, 0.001);
    }
    await Promise.all(budgets.map((budget) => budget.flush()));
    expect(budgets.map((budget) => budget.writes)).toEqual([1, 1, 1]);
    const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `${CONTROL.BUDGET_PREFIX}${hourOf(now)}` } } }));
    expect(unmarshall(Item!)).toMatchObject({ tokensIn: 600, tokensOut: 300, calls: 6, costUsd: 0.006, limitTokens: 1000, limitUsd: 0 });
    // The last instance to flush saw the whole hour; 900 of 1000 tokens.
    const percents = budgets.map((budget) => budget.usedPercent());
    expect(Math.max(...percents)).toBe(90);
    expect(budgets.some((budget) => budget.exhausted())).toBe(false);
    const informed = budgets[percents.indexOf(90)]!;
    informed.record(100, 0, 0);
    expect(informed.exhausted()).toBe(true);
  });

  it('writes nothing when a batch made no calls, and a new hour starts from zero', async () => {
    let now = Date.UTC(2026, 10, 23, 14, 59, 59);
    const budget = new HourlyBudget(client, table, { tokensPerHour: 0, usdPerHour: 1 }, () => now);
    await budget.flush();
    expect(budget.writes).toBe(0);
    budget.record(10, 10, 2);
    await budget.flush();
    expect(budget.exhausted()).toBe(true);
    now += 1000;
    expect(budget.usedPercent()).toBe(0);
    expect(budget.exhausted()).toBe(false);
  });
});

describe('KeyCallCounter', () => {
  it('adds across receives and reads the total back', async () => {
    const counter = new KeyCallCounter(client, table);
    expect(await counter.read('abc')).toBe(0);
    await counter.add('abc', 4, Date.now());
    await counter.add('abc', 3, Date.now());
    await counter.add('abc', 0, Date.now());
    expect(await counter.read('abc')).toBe(7);
  });
});
