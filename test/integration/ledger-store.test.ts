import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEDGER, LEDGER_STATUS } from '../../lambda/contract';
import { DynamoDbLedgerStore } from '../../lambda/ledger/dynamodb-ledger-store';
import type { ClaimRequest, CompleteRequest } from '../../lambda/ledger/ledger-store';
import { DependencyError } from '../../lambda/errors/pipeline-errors';
import { LOCAL_CREDENTIALS, OBSERVER_USER_AGENT, startEmulators, type Emulators } from '../../local/emulators';

/**
 * The DynamoDB ledger against the real embedded DynamoDB emulator (dynalite) over HTTP.
 * Every test uses its own key, so tests share one table and stay independent.
 */

const TABLE = 'ledger-store-test';
const TTL_DAYS = 30;
/** A fixed clock: leases are compared with the `now` each call passes, never the wall clock. */
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const LEASE_MS = 60_000;

let emulators: Emulators;
let client: DynamoDBClient;
/** Reads items for assertions; its User-Agent keeps its requests out of the emulator's counts. */
let observer: DynamoDBClient;
let store: DynamoDbLedgerStore;

beforeAll(async () => {
  emulators = await startEmulators();
  const config = { endpoint: emulators.dynamodbEndpoint, region: emulators.region, credentials: LOCAL_CREDENTIALS };
  client = new DynamoDBClient(config);
  observer = new DynamoDBClient({ ...config, customUserAgent: OBSERVER_USER_AGENT });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: LEDGER.PARTITION_KEY, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: LEDGER.PARTITION_KEY, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  store = new DynamoDbLedgerStore({ client, tableName: TABLE, ttlDays: TTL_DAYS });
});

afterAll(async () => {
  client?.destroy();
  observer?.destroy();
  await emulators?.stop();
});

const newKey = (): string => randomUUID().replaceAll('-', '');

function claimRequest(key: string, claimToken: string, now = NOW, overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    key,
    task: 'ticket-triage',
    taskVersion: '1',
    messageId: `message-${claimToken}`,
    claimToken,
    leaseUntil: now + LEASE_MS,
    now,
    ...overrides,
  };
}

function completeRequest(key: string, claimToken: string, now = NOW, overrides: Partial<CompleteRequest> = {}): CompleteRequest {
  return {
    key,
    claimToken,
    result: { category: 'billing', priority: 'high', confidence: 0.9, summary: `answer of ${claimToken}` },
    tier: 'primary',
    modelId: 'sim-primary',
    tokensIn: 120,
    tokensOut: 30,
    modelLatencyMs: 12.6,
    modelCalls: 1,
    now,
    ...overrides,
  };
}

async function readItem(key: string): Promise<Record<string, unknown> | undefined> {
  const response = await observer.send(new GetItemCommand({ TableName: TABLE, Key: { [LEDGER.PARTITION_KEY]: { S: key } }, ConsistentRead: true }));
  return response.Item ? unmarshall(response.Item) : undefined;
}

const expiresAt = (now: number): number => Math.floor(now / 1000) + TTL_DAYS * 86_400;

describe('claim', () => {
  it('a first claim on a new key is claimed, and writes an IN_PROGRESS item with its lease', async () => {
    const key = newKey();

    const outcome = await store.claim(claimRequest(key, 'A', NOW, { jobId: 'job-7' }));

    expect(outcome).toEqual({ kind: 'claimed', takenOver: false, previousStatus: undefined });
    expect(await readItem(key)).toEqual({
      [LEDGER.PARTITION_KEY]: key,
      [LEDGER.STATUS]: LEDGER_STATUS.IN_PROGRESS,
      leaseUntil: NOW + LEASE_MS,
      claimToken: 'A',
      task: 'ticket-triage',
      taskVersion: '1',
      messageId: 'message-A',
      jobId: 'job-7',
      // The byJob index key: the job and the key's first hex digit (its shard).
      [LEDGER.JOB_SHARD]: `job-7#${key[0]}`,
      firstSeenAt: NOW,
      updatedAt: NOW,
      claims: 1,
      [LEDGER.TTL]: expiresAt(NOW),
    });
  });

  it('writes no jobId when the message has none', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    expect(await readItem(key)).not.toHaveProperty('jobId');
    expect(await readItem(key)).not.toHaveProperty(LEDGER.JOB_SHARD);
  });

  it('a second claim while the lease is live is claimed-elsewhere, with the owner’s lease end, and changes nothing', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    const before = await readItem(key);

    const outcome = await store.claim(claimRequest(key, 'B', NOW + 30_000));

    expect(outcome).toEqual({ kind: 'claimed-elsewhere', leaseUntil: NOW + LEASE_MS });
    expect(await readItem(key)).toEqual(before);
  });

  it('the lease is live up to and including its last millisecond (leaseUntil < now frees it)', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));

    expect(await store.claim(claimRequest(key, 'B', NOW + LEASE_MS))).toEqual({ kind: 'claimed-elsewhere', leaseUntil: NOW + LEASE_MS });
    expect(await store.claim(claimRequest(key, 'B', NOW + LEASE_MS + 1))).toMatchObject({ kind: 'claimed', takenOver: true });
  });

  it('a claim after the lease expired takes the key over, keeping firstSeenAt and counting the claims', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    const later = NOW + LEASE_MS + 5_000;

    const outcome = await store.claim(claimRequest(key, 'B', later));

    expect(outcome).toEqual({ kind: 'claimed', takenOver: true, previousStatus: LEDGER_STATUS.IN_PROGRESS });
    expect(await readItem(key)).toMatchObject({
      [LEDGER.STATUS]: LEDGER_STATUS.IN_PROGRESS,
      claimToken: 'B',
      messageId: 'message-B',
      leaseUntil: later + LEASE_MS,
      firstSeenAt: NOW,
      updatedAt: later,
      claims: 2,
      [LEDGER.TTL]: expiresAt(later),
    });
  });

  it('a claim after complete is a duplicate, however much later', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    await store.complete(completeRequest(key, 'A'));

    expect(await store.claim(claimRequest(key, 'B', NOW + 1_000))).toEqual({ kind: 'duplicate', status: LEDGER_STATUS.COMPLETED });
    expect(await store.claim(claimRequest(key, 'C', NOW + 365 * 86_400_000))).toEqual({ kind: 'duplicate', status: LEDGER_STATUS.COMPLETED });
    expect(await readItem(key)).toMatchObject({ claimToken: 'A', claims: 1 });
  });

  it('of ten concurrent claims on one new key, exactly one is claimed', async () => {
    const key = newKey();
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => store.claim(claimRequest(key, `T${i}`))));

    expect(outcomes.filter((outcome) => outcome.kind === 'claimed')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.kind === 'claimed-elsewhere')).toHaveLength(9);
    expect(await readItem(key)).toMatchObject({ claims: 1 });
  });
});

describe('complete', () => {
  it('writes the result and its provenance, and removes the lease', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    const done = NOW + 2_000;

    expect(await store.complete(completeRequest(key, 'A', done))).toBe('completed');

    const item = await readItem(key);
    expect(item).toMatchObject({
      [LEDGER.STATUS]: LEDGER_STATUS.COMPLETED,
      result: { category: 'billing', priority: 'high', confidence: 0.9, summary: 'answer of A' },
      tier: 'primary',
      modelId: 'sim-primary',
      tokensIn: 120,
      tokensOut: 30,
      modelLatencyMs: 13,
      modelCalls: 1,
      completedAt: done,
      updatedAt: done,
      firstSeenAt: NOW,
      [LEDGER.TTL]: expiresAt(done),
    });
    expect(item).not.toHaveProperty('leaseUntil');
  });

  it('files the item under its completion hour and shard, with the features it was given', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    const done = Date.UTC(2026, 10, 23, 13, 59, 59, 999);
    const features = { category: 'billing', confidence: '0.9' };

    await store.complete({ ...completeRequest(key, 'A', done), features });

    expect(await readItem(key)).toMatchObject({ [LEDGER.HOUR_SHARD]: `2026-11-23T13#${key[0]}`, [LEDGER.FEATURES]: features });
  });

  it('writes no features attribute when there are none', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));

    await store.complete({ ...completeRequest(key, 'A'), features: {} });

    expect(await readItem(key)).not.toHaveProperty(LEDGER.FEATURES);
  });

  it('a complete by another token on a completed key is already-completed and leaves the first result', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    await store.complete(completeRequest(key, 'A'));

    expect(await store.complete(completeRequest(key, 'X', NOW + 1, { tier: 'rules' }))).toBe('already-completed');
    expect(await readItem(key)).toMatchObject({ tier: 'primary', result: { summary: 'answer of A' } });
  });

  it('the owner may repeat its own complete (a retried write is not a duplicate)', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    await store.complete(completeRequest(key, 'A'));

    expect(await store.complete(completeRequest(key, 'A', NOW + 1))).toBe('completed');
  });
});

describe('stale owners after a takeover', () => {
  // A claims, dies (or stalls) past its lease; B takes the key over. A's late writes must not
  // overwrite what B did (ledger-store.ts: "a live owner is never overtaken").
  async function takenOver(): Promise<{ key: string; takeoverAt: number }> {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    const takeoverAt = NOW + LEASE_MS + 1;
    expect(await store.claim(claimRequest(key, 'B', takeoverAt))).toMatchObject({ kind: 'claimed', takenOver: true });
    return { key, takeoverAt };
  }

  it('a late complete by the stale token after the new owner completed is already-completed; the new owner’s result stays', async () => {
    const { key, takeoverAt } = await takenOver();
    expect(await store.complete(completeRequest(key, 'B', takeoverAt + 100))).toBe('completed');

    const late = await store.complete(completeRequest(key, 'A', takeoverAt + 200, { tier: 'secondary', modelId: 'stale' }));

    expect(late).toBe('already-completed');
    expect(await readItem(key)).toMatchObject({
      [LEDGER.STATUS]: LEDGER_STATUS.COMPLETED,
      claimToken: 'B',
      tier: 'primary',
      modelId: 'sim-primary',
      result: { summary: 'answer of B' },
      completedAt: takeoverAt + 100,
    });
  });

  it('a late complete by the stale token while nobody has completed yet wins once: the new owner’s complete is then already-completed', async () => {
    const { key, takeoverAt } = await takenOver();

    expect(await store.complete(completeRequest(key, 'A', takeoverAt + 100))).toBe('completed');
    expect(await readItem(key)).toMatchObject({ [LEDGER.STATUS]: LEDGER_STATUS.COMPLETED, claimToken: 'A', result: { summary: 'answer of A' } });
    // B finishes later: one result per key, so B's is a duplicate, not an overwrite.
    expect(await store.complete(completeRequest(key, 'B', takeoverAt + 300, { modelId: 'late' }))).toBe('already-completed');
    expect(await readItem(key)).toMatchObject({ claimToken: 'A', modelId: 'sim-primary', completedAt: takeoverAt + 100, result: { summary: 'answer of A' } });
    expect(await store.claim(claimRequest(key, 'C', takeoverAt + 400))).toEqual({ kind: 'duplicate', status: LEDGER_STATUS.COMPLETED });
  });

  it('a complete on a key that was never claimed writes nothing (on DynamoDB and dynalite alike)', async () => {
    const key = newKey();
    expect(await store.complete(completeRequest(key, 'A'))).toBe('already-completed');
    expect(await readItem(key)).toBeUndefined();
  });

  it('recordFailure by the stale token fails as a lost lease and leaves the new owner’s lease alone', async () => {
    const { key, takeoverAt } = await takenOver();
    const before = await readItem(key);

    const error = await store
      .recordFailure({ key, claimToken: 'A', errorClass: 'Timeout', message: 'too slow', receiveCount: 1, now: takeoverAt + 100 })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(DependencyError);
    expect(error).toMatchObject({ dependency: 'dynamodb', retryable: true });
    expect((error as Error).message).toMatch(/lease was lost/);
    expect(await readItem(key)).toEqual(before);
  });

  it('markInReview by the stale token fails as a lost lease and leaves the new owner’s lease alone', async () => {
    const { key, takeoverAt } = await takenOver();
    const before = await readItem(key);

    await expect(store.markInReview({ key, claimToken: 'A', reasons: ['low confidence'], now: takeoverAt + 100 })).rejects.toThrow(/lease was lost/);
    expect(await readItem(key)).toEqual(before);
  });
});

describe('recordFailure', () => {
  it('releases the lease with the failure context, and the next claim gets the key at once (not a takeover)', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    await store.recordFailure({ key, claimToken: 'A', errorClass: 'Throttling', message: 'HTTP 429', receiveCount: 2, now: NOW + 500 });

    const failed = await readItem(key);
    expect(failed).toMatchObject({
      [LEDGER.STATUS]: LEDGER_STATUS.FAILED,
      lastErrorClass: 'Throttling',
      lastError: 'HTTP 429',
      receiveCount: 2,
      updatedAt: NOW + 500,
    });
    expect(failed).not.toHaveProperty('leaseUntil');

    // Well inside A's old lease: a FAILED key is free.
    const outcome = await store.claim(claimRequest(key, 'B', NOW + 1_000));
    expect(outcome).toEqual({ kind: 'claimed', takenOver: false, previousStatus: LEDGER_STATUS.FAILED });
  });

  it('a later complete clears the failure context', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    await store.recordFailure({ key, claimToken: 'A', errorClass: 'Throttling', message: 'HTTP 429', receiveCount: 1, now: NOW });
    await store.claim(claimRequest(key, 'B', NOW + 1_000));
    await store.complete(completeRequest(key, 'B', NOW + 2_000));

    const item = await readItem(key);
    expect(item).toMatchObject({ [LEDGER.STATUS]: LEDGER_STATUS.COMPLETED, receiveCount: 1 });
    expect(item).not.toHaveProperty('lastError');
    expect(item).not.toHaveProperty('lastErrorClass');
  });

  it.each<[string, string, string]>([
    ['cuts a long message to 1,000 characters', 'e'.repeat(5_000), 'e'.repeat(1_000)],
    ['stores an empty message as "(no message)"', '', '(no message)'],
  ])('%s', async (_name, message, stored) => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    await store.recordFailure({ key, claimToken: 'A', errorClass: 'Error', message, receiveCount: 1, now: NOW });
    expect(await readItem(key)).toHaveProperty('lastError', stored);
  });

  it('cannot turn a completed key into a failed one', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    await store.complete(completeRequest(key, 'A'));

    await expect(
      store.recordFailure({ key, claimToken: 'A', errorClass: 'Timeout', message: 'x', receiveCount: 1, now: NOW + 1 }),
    ).rejects.toBeInstanceOf(DependencyError);
    expect(await readItem(key)).toHaveProperty(LEDGER.STATUS, LEDGER_STATUS.COMPLETED);
  });
});

describe('recordRejection', () => {
  it('writes a REJECTED item with the reason, and a claim on that key is a duplicate', async () => {
    const key = `rejected#${newKey()}`;

    await store.recordRejection({ key, reason: 'NOT_JSON', detail: `body is not JSON ${'d'.repeat(2_000)}`, messageId: 'm-1', bodyBytes: 2_017, now: NOW });

    const item = await readItem(key);
    expect(item).toEqual({
      [LEDGER.PARTITION_KEY]: key,
      [LEDGER.STATUS]: LEDGER_STATUS.REJECTED,
      reason: 'NOT_JSON',
      detail: `body is not JSON ${'d'.repeat(2_000)}`.slice(0, 1_000),
      messageId: 'm-1',
      bodyBytes: 2_017,
      updatedAt: NOW,
      [LEDGER.TTL]: expiresAt(NOW),
    });
    expect(await store.claim(claimRequest(key, 'A', NOW + 1))).toEqual({ kind: 'duplicate', status: LEDGER_STATUS.REJECTED });
  });

  it('recording the same rejection again (a re-sent bad body) keeps one item, with the latest message id', async () => {
    const key = `rejected#${newKey()}`;
    await store.recordRejection({ key, reason: 'NOT_JSON', detail: 'x', messageId: 'm-1', bodyBytes: 3, now: NOW });
    await store.recordRejection({ key, reason: 'NOT_JSON', detail: 'x', messageId: 'm-2', bodyBytes: 3, now: NOW + 1 });
    expect(await readItem(key)).toMatchObject({ messageId: 'm-2', updatedAt: NOW + 1 });
  });
});

describe('markInReview', () => {
  it('moves the owner’s key to IN_REVIEW with the reasons, removes the lease, and later claims are duplicates', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));

    await store.markInReview({ key, claimToken: 'A', reasons: ['primary: Throttling', 'rules: low confidence'], now: NOW + 700 });

    const item = await readItem(key);
    expect(item).toMatchObject({
      [LEDGER.STATUS]: LEDGER_STATUS.IN_REVIEW,
      reviewReasons: ['primary: Throttling', 'rules: low confidence'],
      updatedAt: NOW + 700,
      claimToken: 'A',
    });
    expect(item).not.toHaveProperty('leaseUntil');
    expect(await store.claim(claimRequest(key, 'B', NOW + LEASE_MS * 10))).toEqual({ kind: 'duplicate', status: LEDGER_STATUS.IN_REVIEW });
  });

  it('cuts each reason to 500 characters', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    await store.markInReview({ key, claimToken: 'A', reasons: ['r'.repeat(800)], now: NOW });
    expect(await readItem(key)).toHaveProperty('reviewReasons', ['r'.repeat(500)]);
  });
});

describe('DynamoDB requests', () => {
  it('a fresh claim + complete costs exactly 2 writes and 0 reads', async () => {
    const key = newKey();
    emulators.counter.reset();

    await store.claim(claimRequest(key, 'A'));
    await store.complete(completeRequest(key, 'A'));

    expect(emulators.counter.totals()).toMatchObject({ 'dynamodb.read': 0, 'dynamodb.write': 2 });
    expect(emulators.counter.snapshot()).toEqual({ 'dynamodb.UpdateItem': 2 });
  });

  it('a duplicate claim costs one conditional write, plus at most one read where the emulator returns no item with the failure', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    await store.complete(completeRequest(key, 'A'));
    emulators.counter.reset();

    await store.claim(claimRequest(key, 'B', NOW + 1));

    const totals = emulators.counter.totals();
    expect(totals['dynamodb.write']).toBe(1);
    expect(totals['dynamodb.read']).toBeLessThanOrEqual(1);
  });
});

describe('dependency failures', () => {
  it.each<[string, (missing: DynamoDbLedgerStore) => Promise<unknown>]>([
    ['claim', (missing) => missing.claim(claimRequest(newKey(), 'A'))],
    ['complete', (missing) => missing.complete(completeRequest(newKey(), 'A'))],
    ['recordRejection', (missing) => missing.recordRejection({ key: newKey(), reason: 'NOT_JSON', detail: 'x', messageId: 'm', bodyBytes: 1, now: NOW })],
  ])('%s on a missing table is a retryable DependencyError', async (_name, call) => {
    const missing = new DynamoDbLedgerStore({ client, tableName: 'no-such-table', ttlDays: TTL_DAYS });
    const error = await call(missing).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error).toMatchObject({ dependency: 'dynamodb', retryable: true });
  });
});
