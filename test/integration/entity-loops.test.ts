/**
 * Escalation loops across edits (issue 16): the processor's entity guard with the real ledger and
 * control table on dynalite over HTTP, the simulated model in process, the queues recorded.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONTROL, ENV, LEDGER, LEDGER_STATUS, REUSED_TIER, TIER } from '../../lambda/contract';
import { DynamoDbLedgerStore } from '../../lambda/ledger/dynamodb-ledger-store';
import { SimulatedProvider } from '../../lambda/model/simulated-provider';
import { BatchProcessor } from '../../lambda/processor/batch-processor';
import { EntityGuard } from '../../lambda/processor/entity-guard';
import { parseMessage } from '../../lambda/processor/message-parser';
import type { QueueGateway } from '../../lambda/processor/queue-gateway';
import { readRuntimeConfig } from '../../lambda/processor/runtime-config';
import { CLOSED_SNAPSHOT } from '../../lambda/resilience/breaker-state';
import { HourlyBudget } from '../../lambda/resilience/budget';
import type { DynamoDbBreakerStore } from '../../lambda/resilience/dynamodb-breaker-store';
import { EntityDecisions } from '../../lambda/resilience/entity-decisions';
import { KeyCallCounter } from '../../lambda/resilience/key-call-counter';
import { RetryPolicy } from '../../lambda/resilience/retry-policy';
import { SharedBreaker } from '../../lambda/resilience/shared-breaker';
import { seededRandom } from '../../lambda/shared/seeded-random';
import { type Emulators, LOCAL_CREDENTIALS, OBSERVER_USER_AGENT, startEmulators } from '../../local/emulators';
import { smallEdit } from '../../local/workload-generator/agent-edits';
import { generateTicket } from '../../local/workload-generator/ticket-generator';

const LIMIT = 2;

const NO_LOG = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;
const NO_METRICS = {
  addMetric() {},
  addDimensions() {},
  addDimension() {},
  publishStoredMetrics() {},
  singleMetric() {
    return NO_METRICS;
  },
} as unknown as Metrics;
const CLOSED_BREAKER_STORE = {
  read: async () => CLOSED_SNAPSHOT,
  record: async () => CLOSED_SNAPSHOT,
  open: async () => false,
  takeProbe: async () => undefined,
  closeAfterProbe: async () => undefined,
  reopenAfterProbe: async () => undefined,
  releaseProbe: async () => undefined,
} as unknown as DynamoDbBreakerStore;

/** Every DynamoDB request the processor's client made: operation and the item key it named. */
interface Request {
  readonly operation: string;
  readonly pk?: string;
}

let emulators: Emulators;
let client: DynamoDBClient;
let observer: DynamoDBClient;
let requests: Request[] = [];
let suffix = 0;
let ledgerTable = '';
let controlTable = '';

beforeAll(async () => {
  emulators = await startEmulators();
  const settings = { endpoint: emulators.dynamodbEndpoint, region: emulators.region, credentials: LOCAL_CREDENTIALS };
  client = new DynamoDBClient(settings);
  observer = new DynamoDBClient({ ...settings, customUserAgent: OBSERVER_USER_AGENT });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: { pk?: { S?: string } } };
      requests.push({ operation: String(context.commandName), pk: input.Key?.pk?.S });
      return next(args);
    },
    { step: 'initialize', name: 'requestRecorder' },
  );
});
afterAll(async () => {
  client?.destroy();
  observer?.destroy();
  await emulators?.stop();
});
beforeEach(async () => {
  suffix += 1;
  ledgerTable = `ledger-${suffix}`;
  controlTable = `control-${suffix}`;
  for (const TableName of [ledgerTable, controlTable]) {
    await observer.send(
      new CreateTableCommand({
        TableName,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  }
  requests = [];
});

/** A processor as handler.ts builds it, against this test's tables; `entities: false` leaves the guard out. */
function world(options: { entities?: boolean } = {}) {
  const config = readRuntimeConfig({
    [ENV.STAGE]: 'test',
    [ENV.LEDGER_TABLE]: ledgerTable,
    [ENV.CONTROL_TABLE]: controlTable,
    [ENV.INPUT_QUEUE_URL]: 'https://sqs.us-east-1.amazonaws.com/123456789012/input',
    [ENV.INPUT_DLQ_URL]: 'https://sqs.us-east-1.amazonaws.com/123456789012/input-dlq',
    [ENV.REVIEW_QUEUE_URL]: 'https://sqs.us-east-1.amazonaws.com/123456789012/review',
    [ENV.ENTITY_DECISION_LIMIT]: String(LIMIT),
    [ENV.ENTITY_WINDOW_SECONDS]: '3600',
    [ENV.ENTITY_REUSE_THRESHOLD]: '0.6',
  });
  const reviews: Array<Record<string, unknown>> = [];
  const queues: QueueGateway = {
    deadLetter: async () => undefined,
    escalate: async (body) => {
      reviews.push(JSON.parse(body) as Record<string, unknown>);
    },
    delayMany: async () => new Set<string>(),
    requeue: async () => undefined,
  };
  const provider = new SimulatedProvider({ seed: 42 });
  const decisions = new EntityDecisions(client, controlTable);
  const processor = new BatchProcessor({
    config,
    ledger: new DynamoDbLedgerStore({ client, tableName: ledgerTable, ttlDays: 30 }),
    queues,
    provider,
    logger: NO_LOG,
    metrics: NO_METRICS,
    breakerFor: (modelId) =>
      new SharedBreaker(modelId, CLOSED_BREAKER_STORE, {
        failureThreshold: 0,
        failureRatePercent: 50,
        minCalls: 1000,
        windowMs: 60_000,
        cooldownMs: 30_000,
        cacheMs: 0,
        probeLeaseMs: 10_000,
      }),
    budget: new HourlyBudget({ send: async () => ({}) } as unknown as DynamoDBClient, controlTable, { tokensPerHour: 0, usdPerHour: 0 }),
    retryPolicy: new RetryPolicy({ maxAttempts: 1, callTimeoutMs: 5000 }),
    keyCalls: new KeyCallCounter(client, controlTable),
    ...(options.entities === false ? {} : { entityGuard: new EntityGuard({ decisions, config }) }),
  });
  const process = (bodies: readonly string[]) =>
    processor.process({ Records: bodies.map(record) }, { getRemainingTimeInMillis: () => 30_000, awsRequestId: randomUUID() });
  return { process, provider, reviews, decisions };
}

function record(body: string): SQSRecord {
  const id = randomUUID();
  return {
    messageId: id,
    receiptHandle: `handle-${id}`,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'test', ApproximateFirstReceiveTimestamp: String(Date.now()) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:input',
    awsRegion: 'us-east-1',
  };
}

const random = seededRandom(1616);
const ticket = () => generateTicket(random).input;
const message = (input: unknown, entityId?: string) => JSON.stringify({ task: 'ticket-triage', input, ...(entityId ? { entityId } : {}) });

async function ledgerItem(body: string): Promise<Record<string, any> | undefined> {
  const { Item } = await observer.send(new GetItemCommand({ TableName: ledgerTable, Key: { pk: { S: parseMessage(body).key } }, ConsistentRead: true }));
  return Item ? unmarshall(Item) : undefined;
}

async function entityItem(entityId: string): Promise<Record<string, any> | undefined> {
  const { Item } = await observer.send(
    new GetItemCommand({ TableName: controlTable, Key: { pk: { S: `${CONTROL.ENTITY_PREFIX}${entityId}` } }, ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

describe('inputs without an entity', () => {
  it('make exactly the requests they made without the guard: none to the control table', async () => {
    const plain = world({ entities: false });
    await plain.process([message(ticket())]);
    const withoutGuard = requests.map((request) => request.operation);
    requests = [];

    const guarded = world();
    await guarded.process([message(ticket())]);

    expect(requests.map((request) => request.operation)).toEqual(withoutGuard);
    expect(requests.filter((request) => request.pk?.startsWith(CONTROL.ENTITY_PREFIX) || request.pk?.startsWith(CONTROL.ENTITY_REVIEW_PREFIX))).toEqual([]);
    expect(withoutGuard.length).toBeGreaterThan(0);
  });
});

describe('an entity edited with new content, again and again', () => {
  it(`is classified ${LIMIT} times, then goes to review as an escalation loop and stays held`, async () => {
    const { process, provider, reviews } = world();
    const bodies = Array.from({ length: 5 }, () => message(ticket(), 'ticket-77'));
    for (const body of bodies) await process([body]);

    const items = await Promise.all(bodies.map(ledgerItem));
    expect(items.map((item) => item?.[LEDGER.STATUS])).toEqual([
      LEDGER_STATUS.COMPLETED,
      LEDGER_STATUS.COMPLETED,
      LEDGER_STATUS.IN_REVIEW,
      LEDGER_STATUS.IN_REVIEW,
      LEDGER_STATUS.IN_REVIEW,
    ]);
    expect(provider.calls).toBe(LIMIT);
    expect(reviews).toHaveLength(3);
    for (const review of reviews) expect(String(review.reasons)).toContain('escalation loop');
    const entity = await entityItem('ticket-77');
    expect(entity?.hold?.key).toBe(parseMessage(bodies[2] as string).key);
    expect(entity?.history.map((entry: { kind: string }) => entry.kind)).toEqual(['decided', 'decided', 'loop', 'held', 'held']);
  });

  it(`caps at ${LIMIT} when every edit arrives in one batch, processed in parallel by two instances`, async () => {
    const first = world();
    const second = world();
    const bodies = Array.from({ length: 8 }, () => message(ticket(), 'ticket-88'));
    await Promise.all([first.process(bodies.slice(0, 4)), second.process(bodies.slice(4))]);

    const statuses = (await Promise.all(bodies.map(ledgerItem))).map((item) => item?.[LEDGER.STATUS]);
    expect(statuses.filter((status) => status === LEDGER_STATUS.COMPLETED)).toHaveLength(LIMIT);
    expect(statuses.filter((status) => status === LEDGER_STATUS.IN_REVIEW)).toHaveLength(8 - LIMIT);
    expect(first.provider.calls + second.provider.calls).toBe(LIMIT);
  });

  it('is released by a person resolving its review item: hold and window cleared, the answer reused by the next small edit', async () => {
    const { process, provider, decisions } = world();
    const bodies = Array.from({ length: LIMIT + 1 }, () => message(ticket(), 'ticket-99'));
    for (const body of bodies) await process([body]);
    const held = bodies[LIMIT] as string;
    expect((await ledgerItem(held))?.[LEDGER.STATUS]).toBe(LEDGER_STATUS.IN_REVIEW);

    const answer = { category: 'billing', priority: 'low', confidence: 1, summary: 'Decided by a person.' };
    expect(await decisions.release(parseMessage(held).key, { result: answer, by: 'reviewer', now: Date.now() })).toBe('ticket-99');
    expect((await entityItem('ticket-99'))?.hold).toBeUndefined();

    // A small edit of the held input reuses the person's answer; new content is classified again.
    const edit = message(smallEdit(random, JSON.parse(held).input, 'signature'), 'ticket-99');
    const fresh = message(ticket(), 'ticket-99');
    await process([edit]);
    await process([fresh]);
    const edited = await ledgerItem(edit);
    expect(edited?.[LEDGER.TIER]).toBe(REUSED_TIER);
    expect(edited?.result).toEqual(answer);
    expect((await ledgerItem(fresh))?.[LEDGER.TIER]).toBe(TIER.PRIMARY);
    expect(provider.calls).toBe(LIMIT + 1);
  });
});

describe('small edits', () => {
  it.each(['typo-fix', 'signature', 'subject-change'] as const)('a %s reuses the last decision without a model call', async (kind) => {
    const { process, provider } = world();
    const original = ticket();
    const first = message(original, `ticket-${kind}`);
    await process([first]);
    const edited = message(smallEdit(random, original, kind), `ticket-${kind}`);
    await process([edited]);

    const [before, after] = await Promise.all([ledgerItem(first), ledgerItem(edited)]);
    expect(after?.[LEDGER.STATUS]).toBe(LEDGER_STATUS.COMPLETED);
    expect(after?.[LEDGER.TIER]).toBe(REUSED_TIER);
    expect(after?.result).toEqual(before?.result);
    expect(provider.calls).toBe(1);
    const entity = await entityItem(`ticket-${kind}`);
    const reused = entity?.history.find((entry: { kind: string }) => entry.kind === 'reused');
    expect(reused?.similarity).toBeGreaterThanOrEqual(0.6);
  });

  it('do not reuse across entities: the same edit about another entity is classified', async () => {
    const { process, provider } = world();
    const original = ticket();
    await process([message(original, 'ticket-a')]);
    const edited = message(smallEdit(random, original, 'signature'), 'ticket-b');
    await process([edited]);
    expect((await ledgerItem(edited))?.[LEDGER.TIER]).toBe(TIER.PRIMARY);
    expect(provider.calls).toBe(2);
  });
});
