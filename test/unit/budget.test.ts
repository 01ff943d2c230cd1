import type { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { BUDGET, CONTROL } from '../../lambda/contract';
import { DependencyError } from '../../lambda/errors/pipeline-errors';
import { estimateCostUsd, HourlyBudget, hourOf, msUntilNextHour, usedPercent } from '../../lambda/resilience/budget';

const HOUR = 3_600_000;
/** 2026-11-23T14:00:00Z. */
const T = Date.UTC(2026, 10, 23, 14);

/**
 * A DynamoDB client that keeps the budget items in memory and answers the budget's UpdateItem as
 * DynamoDB does: ADD to the numbers, SET the rest, ALL_NEW back.
 */
function fakeDynamoDb(options: { failNext?: number } = {}) {
  const items = new Map<string, Record<string, number | string>>();
  const requests: Array<UpdateItemCommand['input']> = [];
  let failures = options.failNext ?? 0;
  const client = {
    send: async (command: UpdateItemCommand) => {
      const input = command.input;
      requests.push(input);
      if (failures > 0) {
        failures -= 1;
        throw new Error('ProvisionedThroughputExceededException');
      }
      const key = input.Key?.[CONTROL.PARTITION_KEY]?.S as string;
      const values = input.ExpressionAttributeValues ?? {};
      const names = input.ExpressionAttributeNames ?? {};
      const number = (placeholder: string) => Number(values[placeholder]?.N);
      const item = items.get(key) ?? { [CONTROL.PARTITION_KEY]: key };
      for (const field of ['tokensIn', 'tokensOut', 'costUsd', 'calls']) {
        const name = names[`#${field}`] as string;
        item[name] = Number(item[name] ?? 0) + number(`:${field}`);
      }
      item[names['#expiresAt'] as string] = number(':expiresAt');
      items.set(key, item);
      return { Attributes: marshall(item) };
    },
  };
  return { client: client as unknown as DynamoDBClient, items, requests };
}

function budget(limits: { tokensPerHour?: number; usdPerHour?: number }, options: { failNext?: number; start?: number; maxDelayMs?: number } = {}) {
  let now = options.start ?? T;
  const db = fakeDynamoDb(options);
  const subject = new HourlyBudget(db.client, 'control', { tokensPerHour: limits.tokensPerHour ?? 0, usdPerHour: limits.usdPerHour ?? 0 }, () => now, {
    maxDelayMs: options.maxDelayMs,
  });
  return {
    ...db,
    budget: subject,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('budget arithmetic', () => {
  it.each([
    [T, '2026-11-23T14'],
    [T + HOUR - 1, '2026-11-23T14'],
    [T + HOUR, '2026-11-23T15'],
  ])('hourOf(%i) is %s', (now, hour) => {
    expect(hourOf(now)).toBe(hour);
  });

  it.each([
    [T, HOUR],
    [T + 1, HOUR - 1],
    [T + HOUR - 1, 1],
  ])('msUntilNextHour(%i) is %i', (now, ms) => {
    expect(msUntilNextHour(now)).toBe(ms);
  });

  it('prices input and output tokens separately, per million', () => {
    const price = { inputUsdPerMillionTokens: 3, outputUsdPerMillionTokens: 15 };
    expect(estimateCostUsd(price, 1_000_000, 0)).toBe(3);
    expect(estimateCostUsd(price, 0, 1_000_000)).toBe(15);
    expect(estimateCostUsd(price, 2000, 1000)).toBeCloseTo(0.021, 12);
    expect(estimateCostUsd(undefined, 2000, 1000)).toBe(0);
  });

  it.each([
    ['tokens only', { tokensIn: 600, tokensOut: 400, costUsd: 0 }, { tokensPerHour: 2000, usdPerHour: 0 }, 50],
    ['cost only', { tokensIn: 600, tokensOut: 400, costUsd: 3 }, { tokensPerHour: 0, usdPerHour: 4 }, 75],
    ['the larger of the two (cost)', { tokensIn: 100, tokensOut: 100, costUsd: 9 }, { tokensPerHour: 1000, usdPerHour: 10 }, 90],
    ['the larger of the two (tokens)', { tokensIn: 900, tokensOut: 100, costUsd: 1 }, { tokensPerHour: 1000, usdPerHour: 10 }, 100],
    ['no limit at all', { tokensIn: 900, tokensOut: 100, costUsd: 1 }, { tokensPerHour: 0, usdPerHour: 0 }, 0],
  ])('usedPercent: %s', (_name, totals, limits, percent) => {
    expect(usedPercent(totals, limits)).toBeCloseTo(percent, 10);
  });
});

describe('HourlyBudget', () => {
  it.each([
    [{}, false],
    [{ tokensPerHour: 1 }, true],
    [{ usdPerHour: 0.5 }, true],
  ])('limits %j → limited %s', (limits, limited) => {
    expect(budget(limits).budget.limited).toBe(limited);
  });

  it('counts what this instance has not flushed yet', () => {
    // Prepare
    const { budget: subject } = budget({ tokensPerHour: 1000 });

    // Act
    subject.record(300, 200, 0);

    // Assess
    expect(subject.usedPercent()).toBe(50);
    expect(subject.exhausted()).toBe(false);
  });

  it('adds unflushed cost to the counted cost', async () => {
    // Prepare: $1 counted of a $4 limit, then $1 more spent and not flushed
    const { budget: subject } = budget({ usdPerHour: 4 });
    subject.record(0, 0, 1);
    await subject.flush();

    // Act
    subject.record(0, 0, 1);

    // Assess
    expect(subject.usedPercent()).toBe(50);
  });

  it.each([
    [999, false],
    [1000, true],
  ])('is exhausted from exactly 100%% (%i of 1000 tokens → %s)', (tokens, exhausted) => {
    // Prepare
    const { budget: subject } = budget({ tokensPerHour: 1000 });

    // Act
    subject.record(tokens, 0, 0);

    // Assess
    expect(subject.exhausted()).toBe(exhausted);
  });

  it('is never exhausted without a limit', () => {
    const { budget: subject } = budget({});
    subject.record(10_000_000, 10_000_000, 1000);
    expect(subject.exhausted()).toBe(false);
  });

  it('flushes one atomic ADD of the batch, and checks the next batch against the hour total it returns', async () => {
    // Prepare: another instance already spent 700 tokens this hour
    const { budget: subject, items, requests } = budget({ tokensPerHour: 1000, usdPerHour: 2 });
    items.set(`${CONTROL.BUDGET_PREFIX}2026-11-23T14`, { tokensIn: 500, tokensOut: 200, costUsd: 0.5, calls: 3 });
    subject.record(100, 50, 0.25);
    subject.record(40, 10, 0.125);

    // Act
    const totals = await subject.flush();

    // Assess
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      TableName: 'control',
      Key: { [CONTROL.PARTITION_KEY]: { S: 'budget#2026-11-23T14' } },
      ExpressionAttributeValues: {
        ':tokensIn': { N: '140' },
        ':tokensOut': { N: '60' },
        ':costUsd': { N: '0.375000' },
        ':calls': { N: '2' },
        ':limitTokens': { N: '1000' },
        ':limitUsd': { N: '2' },
        ':now': { N: String(T) },
        ':expiresAt': { N: String(T / 1000 + 7 * 86_400) },
      },
      ReturnValues: 'ALL_NEW',
    });
    expect(totals).toEqual({ hour: '2026-11-23T14', tokensIn: 640, tokensOut: 260, costUsd: 0.875, calls: 5 });
    expect(subject.usedPercent()).toBe(90);
    expect(subject.writes).toBe(1);
  });

  it('with maxDelayMs, holds spend until it is that old, 1% of a limit, or of an earlier hour', async () => {
    // Prepare: 10 s of delay, a limit of 100,000 tokens (1% = 1,000)
    const { budget: subject, requests, advance } = budget({ tokensPerHour: 100_000 }, { maxDelayMs: 10_000 });

    // Act + Assess: small batches wait...
    subject.record(100, 100, 0);
    await subject.flush();
    advance(9_999);
    subject.record(100, 100, 0);
    await subject.flush();
    expect(requests).toHaveLength(0);
    expect(subject.usedPercent()).toBeCloseTo(0.4); // ...yet count here at once
    // ...until the first of them is 10 s old: one ADD of both
    advance(1);
    await subject.flush();
    expect(requests).toHaveLength(1);
    expect(requests[0]?.ExpressionAttributeValues?.[':calls']).toEqual({ N: '2' });
    // 1% of the limit goes at once
    subject.record(600, 400, 0);
    await subject.flush();
    expect(requests).toHaveLength(2);
    // spend of an earlier hour is written to that hour as soon as the hour is over
    advance(HOUR - 20_000);
    subject.record(10, 10, 0);
    advance(15_000);
    await subject.flush();
    expect(requests).toHaveLength(3);
    expect(requests[2]?.Key?.[CONTROL.PARTITION_KEY]?.S).toBe('budget#2026-11-23T14');
  });

  it('writes nothing when the batch spent nothing', async () => {
    // Prepare
    const { budget: subject, requests } = budget({ tokensPerHour: 1000 });
    subject.record(10, 10, 0);
    const first = await subject.flush();

    // Act
    const second = await subject.flush();

    // Assess
    expect(requests).toHaveLength(1);
    expect(second).toEqual(first);
    expect(subject.writes).toBe(1);
  });

  it('forgets the last hour when a new hour starts', async () => {
    // Prepare
    const { budget: subject, advance } = budget({ tokensPerHour: 1000 });
    subject.record(900, 100, 0);
    await subject.flush();
    const lastHour = subject.exhausted();

    // Act
    advance(HOUR);

    // Assess
    expect(lastHour).toBe(true);
    expect(subject.usedPercent()).toBe(0);
    expect(subject.exhausted()).toBe(false);
  });

  it('reads a missing attribute of the answer as 0', async () => {
    // Prepare: an answer with no attributes at all
    const client = { send: async () => ({}) } as unknown as DynamoDBClient;
    const subject = new HourlyBudget(client, 'control', { tokensPerHour: 1000, usdPerHour: 0 }, () => T);
    subject.record(10, 10, 0);

    // Act
    const totals = await subject.flush();

    // Assess
    expect(totals).toEqual({ hour: '2026-11-23T14', tokensIn: 0, tokensOut: 0, costUsd: 0, calls: 0 });
  });

  it('gives a failed flush back, so the next flush counts it, and fails as a DependencyError', async () => {
    // Prepare
    const { budget: subject, requests, items } = budget({ tokensPerHour: 1000 }, { failNext: 1 });
    subject.record(100, 50, 0.5);

    // Act
    const failure = await subject.flush().catch((error: unknown) => error);
    const pendingPercent = subject.usedPercent();
    subject.record(10, 5, 0.25);
    await subject.flush();

    // Assess
    expect(failure).toBeInstanceOf(DependencyError);
    expect(failure).toMatchObject({ message: expect.stringContaining('ProvisionedThroughputExceededException') });
    expect(pendingPercent).toBe(15);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.ExpressionAttributeValues).toMatchObject({
      ':tokensIn': { N: '110' },
      ':tokensOut': { N: '55' },
      ':costUsd': { N: '0.750000' },
      ':calls': { N: '2' },
    });
    expect(items.get('budget#2026-11-23T14')).toMatchObject({ [BUDGET.TOKENS_IN]: 110, [BUDGET.CALLS]: 2 });
  });
});
