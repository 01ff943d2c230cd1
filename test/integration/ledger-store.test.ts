import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEDGER, LEDGER_STATUS } from '../../lambda/contract';
import { DynamoDbLedgerStore } from '../../lambda/ledger/dynamodb-ledger-store';
import { jobShardKey } from '../../lambda/ledger/ledger-index';
import type { ClaimRequest, CompleteRequest, LedgerStore } from '../../lambda/ledger/ledger-store';
import { InMemoryLedgerStore } from '../support/in-memory-ledger';
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
      receiveCount: 1,
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

    expect(outcome).toEqual({ kind: 'claimed-elsewhere', leaseUntil: NOW + LEASE_MS, messageId: 'message-A', receiveCount: 1 });
    expect(await readItem(key)).toEqual(before);
  });

  it('the lease is live up to and including its last millisecond (leaseUntil < now frees it)', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));

    expect(await store.claim(claimRequest(key, 'B', NOW + LEASE_MS))).toMatchObject({ kind: 'claimed-elsewhere', leaseUntil: NOW + LEASE_MS });
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

    expect(await store.complete(completeRequest(key, 'A', done))).toEqual({ kind: 'applied' });

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

  it('a complete by another token on a completed key is stale and leaves the first result', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    await store.complete(completeRequest(key, 'A'));

    expect(await store.complete(completeRequest(key, 'X', NOW + 1, { tier: 'rules' }))).toMatchObject({ kind: 'stale', status: LEDGER_STATUS.COMPLETED });
    expect(await readItem(key)).toMatchObject({ tier: 'primary', result: { summary: 'answer of A' } });
  });

  it('the owner may repeat its own complete (a retried write is not a duplicate)', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    await store.complete(completeRequest(key, 'A'));

    expect(await store.complete(completeRequest(key, 'A', NOW + 1))).toEqual({ kind: 'applied' });
  });
});

describe('completeUnclaimed (claim and complete in one write)', () => {
  const unclaimed = (key: string, token: string, now: number, overrides: Partial<ClaimRequest> = {}) => {
    const { leaseUntil: _lease, ...claim } = claimRequest(key, token, now, overrides);
    return { ...claim, ...completeRequest(key, token, now, { tier: 'rules', modelId: 'rules', tokensIn: 0, tokensOut: 0, modelLatencyMs: 0, modelCalls: 0 }) };
  };

  it('stores what a claim and a completion would: the attempt, the job index, the result, the hour index; no lease', async () => {
    const key = newKey();
    const outcome = await store.completeUnclaimed({ ...unclaimed(key, 'A', NOW, { jobId: 'job-1', receiveCount: 5 }), features: { category: 'billing' } });

    expect(outcome).toEqual({ kind: 'completed', takenOver: false });
    const item = await readItem(key);
    expect(item).toMatchObject({
      [LEDGER.STATUS]: LEDGER_STATUS.COMPLETED,
      claimToken: 'A',
      task: 'ticket-triage',
      taskVersion: '1',
      messageId: 'message-A',
      receiveCount: 5,
      [LEDGER.JOB_ID]: 'job-1',
      [LEDGER.JOB_SHARD]: jobShardKey('job-1', key),
      claims: 1,
      result: { category: 'billing', priority: 'high', confidence: 0.9, summary: 'answer of A' },
      tier: 'rules',
      modelId: 'rules',
      modelCalls: 0,
      completedAt: NOW,
      firstSeenAt: NOW,
      updatedAt: NOW,
      [LEDGER.HOUR_SHARD]: `2026-11-23T12#${key[0]}`,
      [LEDGER.FEATURES]: { category: 'billing' },
      [LEDGER.TTL]: expiresAt(NOW),
    });
    expect(item).not.toHaveProperty('leaseUntil');
  });

  it('after a failure: keeps firstSeenAt and the first job, counts the claim, clears the failure context', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A', NOW, { jobId: 'job-1' }));
    await store.recordFailure({ key, claimToken: 'A', errorClass: 'BreakerOpen', message: 'open', receiveCount: 1, now: NOW + 1 });

    const outcome = await store.completeUnclaimed(unclaimed(key, 'B', NOW + 5_000, { jobId: 'job-2' }));

    expect(outcome).toEqual({ kind: 'completed', takenOver: false, previousStatus: LEDGER_STATUS.FAILED });
    const item = await readItem(key);
    expect(item).toMatchObject({ [LEDGER.STATUS]: LEDGER_STATUS.COMPLETED, claimToken: 'B', claims: 2, firstSeenAt: NOW, [LEDGER.JOB_ID]: 'job-1' });
    expect(item).not.toHaveProperty('lastError');
    expect(item).not.toHaveProperty('lastErrorClass');
  });

  it('takes an ended lease over, and a stale owner’s late complete then changes nothing', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A'));
    expect(await store.completeUnclaimed(unclaimed(key, 'B', NOW + LEASE_MS + 1))).toEqual({
      kind: 'completed',
      takenOver: true,
      previousStatus: LEDGER_STATUS.IN_PROGRESS,
    });
    expect(await store.complete(completeRequest(key, 'A', NOW + LEASE_MS + 2))).toMatchObject({ kind: 'stale', status: LEDGER_STATUS.COMPLETED });
    expect(await readItem(key)).toMatchObject({ claimToken: 'B', tier: 'rules' });
  });

  it('costs one write and no read', async () => {
    const key = newKey();
    emulators.counter.reset();
    await store.completeUnclaimed(unclaimed(key, 'A', NOW));
    expect(emulators.counter.snapshot()).toEqual({ 'dynamodb.UpdateItem': 1 });
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

  it('a late complete by the stale token after the new owner completed is stale; the new owner’s result stays', async () => {
    const { key, takeoverAt } = await takenOver();
    expect(await store.complete(completeRequest(key, 'B', takeoverAt + 100))).toEqual({ kind: 'applied' });

    const late = await store.complete(completeRequest(key, 'A', takeoverAt + 200, { tier: 'secondary', modelId: 'stale' }));

    expect(late).toMatchObject({ kind: 'stale', status: LEDGER_STATUS.COMPLETED });
    expect(await readItem(key)).toMatchObject({
      [LEDGER.STATUS]: LEDGER_STATUS.COMPLETED,
      claimToken: 'B',
      tier: 'primary',
      modelId: 'sim-primary',
      result: { summary: 'answer of B' },
      completedAt: takeoverAt + 100,
    });
  });

  it('a late complete by the stale token while the new owner still works is stale and changes nothing (issue 12, defect 5)', async () => {
    const { key, takeoverAt } = await takenOver();
    const before = await readItem(key);

    expect(await store.complete(completeRequest(key, 'A', takeoverAt + 100))).toEqual({
      kind: 'stale',
      status: LEDGER_STATUS.IN_PROGRESS,
      messageId: 'message-B',
    });
    expect(await readItem(key)).toEqual(before);
    // B, the owner, completes: one result per key, B's.
    expect(await store.complete(completeRequest(key, 'B', takeoverAt + 300))).toEqual({ kind: 'applied' });
    expect(await readItem(key)).toMatchObject({ claimToken: 'B', completedAt: takeoverAt + 300, result: { summary: 'answer of B' } });
    expect(await store.claim(claimRequest(key, 'C', takeoverAt + 400))).toEqual({ kind: 'duplicate', status: LEDGER_STATUS.COMPLETED });
  });

  it('a late complete by the stale token on an item the new owner sent to review is stale: the key stays in review, never also completed', async () => {
    const { key, takeoverAt } = await takenOver();
    expect(await store.markInReview({ key, claimToken: 'B', reasons: ['low confidence'], now: takeoverAt + 100 })).toEqual({ kind: 'applied' });

    expect(await store.complete(completeRequest(key, 'A', takeoverAt + 200))).toMatchObject({ kind: 'stale', status: LEDGER_STATUS.IN_REVIEW });
    expect(await readItem(key)).toMatchObject({ [LEDGER.STATUS]: LEDGER_STATUS.IN_REVIEW, claimToken: 'B' });
    expect(await readItem(key)).not.toHaveProperty('result');
  });

  it('a complete on a key that was never claimed writes nothing (on DynamoDB and dynalite alike)', async () => {
    const key = newKey();
    expect(await store.complete(completeRequest(key, 'A'))).toEqual({ kind: 'stale', status: undefined, messageId: undefined });
    expect(await readItem(key)).toBeUndefined();
  });

  it.each<[string, (key: string, now: number) => Promise<unknown>]>([
    ['recordFailure', (key, now) => store.recordFailure({ key, claimToken: 'A', errorClass: 'Timeout', message: 'too slow', receiveCount: 1, now })],
    ['recordDeadLetter', (key, now) => store.recordDeadLetter({ key, claimToken: 'A', errorClass: 'Timeout', message: 'too slow', receiveCount: 5, now })],
    ['markInReview', (key, now) => store.markInReview({ key, claimToken: 'A', reasons: ['low confidence'], now })],
  ])('%s by the stale token is reported stale (not thrown) and leaves the new owner’s lease alone', async (_name, write) => {
    const { key, takeoverAt } = await takenOver();
    const before = await readItem(key);

    expect(await write(key, takeoverAt + 100)).toEqual({ kind: 'stale', status: LEDGER_STATUS.IN_PROGRESS, messageId: 'message-B' });
    expect(await readItem(key)).toEqual(before);
  });

  it('the job of the first claimer stays: a takeover by a message of another job does not move the key (issue 12, defect 6)', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A', NOW, { jobId: 'job-first' }));
    await store.claim(claimRequest(key, 'B', NOW + LEASE_MS + 1, { jobId: 'job-second' }));
    expect(await readItem(key)).toMatchObject({ jobId: 'job-first', [LEDGER.JOB_SHARD]: `job-first#${key[0]}`, claimToken: 'B' });
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
      // The claim's receive count stays (the reconciler reads it); the failure's is kept beside it.
      receiveCount: 1,
      lastFailedReceive: 2,
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

    expect(await store.recordFailure({ key, claimToken: 'A', errorClass: 'Timeout', message: 'x', receiveCount: 1, now: NOW + 1 })).toMatchObject({
      kind: 'stale',
      status: LEDGER_STATUS.COMPLETED,
    });
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

  it('recording the same rejection again (a redelivery, a re-sent bad body) is stale: one item, the first, so no second DLQ copy (issue 12, defect 7)', async () => {
    const key = `rejected#${newKey()}`;
    expect(await store.recordRejection({ key, reason: 'NOT_JSON', detail: 'x', messageId: 'm-1', bodyBytes: 3, now: NOW })).toEqual({ kind: 'applied' });
    expect(await store.recordRejection({ key, reason: 'NOT_JSON', detail: 'x', messageId: 'm-2', bodyBytes: 3, now: NOW + 1 })).toEqual({
      kind: 'stale',
      status: LEDGER_STATUS.REJECTED,
      messageId: 'm-1',
    });
    expect(await readItem(key)).toMatchObject({ messageId: 'm-1', updatedAt: NOW });
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

/**
 * Every edge of the transition table (lambda/ledger/ledger-transitions.ts), on dynalite and on the
 * in-memory store the crash-point exploration uses. The expected outcomes are written out here by
 * hand, not derived from the table, so a wrong table fails here too.
 */
describe('the ledger state machine: every edge, on dynalite and in memory', () => {
  const { IN_PROGRESS, COMPLETED, IN_REVIEW, FAILED, DEAD_LETTERED, REJECTED } = LEDGER_STATUS;
  type State = 'absent' | 'leased' | 'lease-ended' | 'COMPLETED' | 'IN_REVIEW' | 'FAILED' | 'DEAD_LETTERED' | 'REJECTED';
  /** Writes happen at this time: inside A's lease, except in the 'lease-ended' state. */
  const at = (state: State) => (state === 'lease-ended' ? NOW + LEASE_MS + 1 : NOW + 1_000);
  const failure = (key: string, token: string, now: number) => ({ key, claimToken: token, errorClass: 'Timeout', message: 'x', receiveCount: 1, now });

  async function prepare(ledger: LedgerStore, key: string, state: State): Promise<void> {
    if (state === 'absent') return;
    if (state === 'REJECTED') {
      await ledger.recordRejection({ key, reason: 'NOT_JSON', detail: 'x', messageId: 'message-A', bodyBytes: 1, now: NOW });
      return;
    }
    await ledger.claim(claimRequest(key, 'A'));
    if (state === 'COMPLETED') await ledger.complete(completeRequest(key, 'A', NOW + 1));
    if (state === 'IN_REVIEW') await ledger.markInReview({ key, claimToken: 'A', reasons: ['r'], now: NOW + 1 });
    if (state === 'FAILED') await ledger.recordFailure(failure(key, 'A', NOW + 1));
    if (state === 'DEAD_LETTERED') await ledger.recordDeadLetter(failure(key, 'A', NOW + 1));
  }

  type Write = (ledger: LedgerStore, key: string, now: number) => Promise<unknown>;
  const WRITES: Readonly<Record<string, Write>> = {
    'claim by B': (ledger, key, now) => ledger.claim(claimRequest(key, 'B', now)),
    'completeUnclaimed by B': (ledger, key, now) => {
      const { leaseUntil: _lease, ...claim } = claimRequest(key, 'B', now);
      return ledger.completeUnclaimed({ ...claim, ...completeRequest(key, 'B', now, { tier: 'rules' }) });
    },
    'complete by A': (ledger, key, now) => ledger.complete(completeRequest(key, 'A', now)),
    'complete by B': (ledger, key, now) => ledger.complete(completeRequest(key, 'B', now)),
    'review by A': (ledger, key, now) => ledger.markInReview({ key, claimToken: 'A', reasons: ['r'], now }),
    'review by B': (ledger, key, now) => ledger.markInReview({ key, claimToken: 'B', reasons: ['r'], now }),
    'fail by A': (ledger, key, now) => ledger.recordFailure(failure(key, 'A', now)),
    'deadLetter by A': (ledger, key, now) => ledger.recordDeadLetter(failure(key, 'A', now)),
    'deadLetter by B': (ledger, key, now) => ledger.recordDeadLetter(failure(key, 'B', now)),
    'outOfReceives with A': (ledger, key, now) => ledger.settleOutOfReceives({ key, claimToken: 'A', reason: 'out-of-receives', now }),
    'outOfReceives with X': (ledger, key, now) => ledger.settleOutOfReceives({ key, claimToken: 'X', reason: 'out-of-receives', now }),
    'observeReceive, same message, receive 5': (ledger, key, now) => ledger.observeReceive({ key, messageId: 'message-A', receiveCount: 5, now }),
    'observeReceive, same message, receive 1': (ledger, key, now) => ledger.observeReceive({ key, messageId: 'message-A', receiveCount: 1, now }),
    'observeReceive, other message': (ledger, key, now) => ledger.observeReceive({ key, messageId: 'message-Z', receiveCount: 5, now }),
    reject: (ledger, key, now) => ledger.recordRejection({ key, reason: 'NOT_JSON', detail: 'x', messageId: 'message-R', bodyBytes: 1, now }),
  };

  /** [state, write, what the write returns (its kind), the status after]. */
  const EDGES: ReadonlyArray<readonly [State, keyof typeof WRITES, string, string | undefined]> = [
    ['absent', 'claim by B', 'claimed', IN_PROGRESS],
    ['leased', 'claim by B', 'claimed-elsewhere', IN_PROGRESS],
    ['lease-ended', 'claim by B', 'claimed', IN_PROGRESS],
    ['FAILED', 'claim by B', 'claimed', IN_PROGRESS],
    ['DEAD_LETTERED', 'claim by B', 'claimed', IN_PROGRESS],
    ['COMPLETED', 'claim by B', 'duplicate', COMPLETED],
    ['IN_REVIEW', 'claim by B', 'duplicate', IN_REVIEW],
    ['REJECTED', 'claim by B', 'duplicate', REJECTED],
    ['absent', 'completeUnclaimed by B', 'completed', COMPLETED],
    ['leased', 'completeUnclaimed by B', 'claimed-elsewhere', IN_PROGRESS],
    ['lease-ended', 'completeUnclaimed by B', 'completed', COMPLETED],
    ['FAILED', 'completeUnclaimed by B', 'completed', COMPLETED],
    ['DEAD_LETTERED', 'completeUnclaimed by B', 'completed', COMPLETED],
    ['COMPLETED', 'completeUnclaimed by B', 'duplicate', COMPLETED],
    ['IN_REVIEW', 'completeUnclaimed by B', 'duplicate', IN_REVIEW],
    ['REJECTED', 'completeUnclaimed by B', 'duplicate', REJECTED],
    ['leased', 'complete by A', 'applied', COMPLETED],
    // The fence is the token: an ended lease nobody took over still belongs to A.
    ['lease-ended', 'complete by A', 'applied', COMPLETED],
    ['COMPLETED', 'complete by A', 'applied', COMPLETED],
    ['leased', 'complete by B', 'stale', IN_PROGRESS],
    ['absent', 'complete by A', 'stale', undefined],
    ['IN_REVIEW', 'complete by A', 'stale', IN_REVIEW],
    ['FAILED', 'complete by A', 'stale', FAILED],
    ['DEAD_LETTERED', 'complete by A', 'stale', DEAD_LETTERED],
    ['leased', 'review by A', 'applied', IN_REVIEW],
    ['IN_REVIEW', 'review by A', 'applied', IN_REVIEW],
    ['leased', 'review by B', 'stale', IN_PROGRESS],
    ['COMPLETED', 'review by A', 'stale', COMPLETED],
    ['FAILED', 'review by A', 'stale', FAILED],
    ['leased', 'fail by A', 'applied', FAILED],
    ['FAILED', 'fail by A', 'applied', FAILED],
    ['COMPLETED', 'fail by A', 'stale', COMPLETED],
    ['IN_REVIEW', 'fail by A', 'stale', IN_REVIEW],
    ['leased', 'deadLetter by A', 'applied', DEAD_LETTERED],
    ['DEAD_LETTERED', 'deadLetter by A', 'applied', DEAD_LETTERED],
    ['leased', 'deadLetter by B', 'stale', IN_PROGRESS],
    ['FAILED', 'deadLetter by A', 'stale', FAILED],
    ['COMPLETED', 'deadLetter by A', 'stale', COMPLETED],
    ['leased', 'outOfReceives with A', 'stale', IN_PROGRESS],
    ['lease-ended', 'outOfReceives with A', 'applied', DEAD_LETTERED],
    ['lease-ended', 'outOfReceives with X', 'stale', IN_PROGRESS],
    ['FAILED', 'outOfReceives with A', 'applied', DEAD_LETTERED],
    ['COMPLETED', 'outOfReceives with A', 'stale', COMPLETED],
    ['IN_REVIEW', 'outOfReceives with A', 'stale', IN_REVIEW],
    ['leased', 'observeReceive, same message, receive 5', 'applied', IN_PROGRESS],
    ['leased', 'observeReceive, same message, receive 1', 'stale', IN_PROGRESS],
    ['leased', 'observeReceive, other message', 'stale', IN_PROGRESS],
    ['COMPLETED', 'observeReceive, same message, receive 5', 'stale', COMPLETED],
    ['absent', 'reject', 'applied', REJECTED],
    ['REJECTED', 'reject', 'stale', REJECTED],
    ['leased', 'reject', 'stale', IN_PROGRESS],
  ];

  const stores: ReadonlyArray<readonly [string, () => { ledger: LedgerStore; read: (key: string) => Promise<Record<string, unknown> | undefined> }]> = [
    ['dynalite', () => ({ ledger: store, read: readItem })],
    [
      'in memory',
      () => {
        const memory = new InMemoryLedgerStore();
        return { ledger: memory, read: async (key: string) => memory.items.get(key) as Record<string, unknown> | undefined };
      },
    ],
  ];

  describe.each(stores)('%s', (_name, open) => {
    it.each(EDGES)('%s → %s: %s, then %s', async (state, write, kind, after) => {
      const { ledger, read } = open();
      const key = newKey();
      await prepare(ledger, key, state);
      const before = await read(key);

      const outcome = (await WRITES[write]!(ledger, key, at(state))) as { kind: string };

      expect(outcome.kind).toBe(kind);
      const item = await read(key);
      expect(item?.[LEDGER.STATUS]).toBe(after);
      // A refused write changes nothing at all.
      if (kind === 'stale' || kind === 'claimed-elsewhere' || kind === 'duplicate') expect(item).toEqual(before);
    });
  });

  it('observeReceive raises the receive count the reconciler reads (an earlier receive’s lease is still live)', async () => {
    const key = newKey();
    await store.claim(claimRequest(key, 'A', NOW, { receiveCount: 2 }));
    await store.observeReceive({ key, messageId: 'message-A', receiveCount: 5, now: NOW + 10 });
    expect(await readItem(key)).toMatchObject({ [LEDGER.STATUS]: IN_PROGRESS, receiveCount: 5, claimToken: 'A', leaseUntil: NOW + LEASE_MS });
  });
});
