import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AwsBoundary } from '../../local/aws-boundary/aws-boundary';
import type { InfraFaultSpec } from '../../local/aws-boundary/infra-fault-spec';
import { LOCAL_CREDENTIALS, OBSERVER_USER_AGENT, startEmulators, type Emulators } from '../../local/emulators';

/**
 * The AWS boundary (local/aws-boundary/) in front of the real emulators, seen through the AWS SDK
 * v3 as the bundled processor uses it: an injected fault must be classified by the SDK exactly like
 * the real one (name, HTTP status, throttling vs transient, retried by the standard strategy), and
 * a hung request must end when the boundary stops. Every assertion is on what the SDK returned and
 * what the emulators hold, none on timing.
 */

const TABLE = 'boundary-test';
let emulators: Emulators;
let observer: DynamoDBClient;
let queueUrl: string;
const boundaries: AwsBoundary[] = [];
const clients: Array<{ destroy(): void }> = [];

beforeAll(async () => {
  emulators = await startEmulators();
  observer = new DynamoDBClient({
    region: emulators.region,
    credentials: LOCAL_CREDENTIALS,
    endpoint: emulators.dynamodbEndpoint,
    customUserAgent: OBSERVER_USER_AGENT,
  });
  await observer.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const sqs = new SQSClient({ region: emulators.region, credentials: LOCAL_CREDENTIALS, endpoint: emulators.sqsEndpoint, useQueueUrlAsEndpoint: false });
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'boundary-test' }))).QueueUrl as string;
  sqs.destroy();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(boundaries.splice(0).map((boundary) => boundary.stop()));
});

afterAll(async () => {
  observer?.destroy();
  await emulators?.stop();
});

async function boundaryWith(faults: InfraFaultSpec): Promise<AwsBoundary> {
  const boundary = await AwsBoundary.start({ dynamodbEndpoint: emulators.dynamodbEndpoint, sqsEndpoint: emulators.sqsEndpoint, lanes: 1, faults, seed: 7 });
  boundaries.push(boundary);
  return boundary;
}

/** Clients as the processor builds them (SDK default retries), through lane 0. */
function clientsThrough(boundary: AwsBoundary, maxAttempts?: number): { dynamodb: DynamoDBClient; sqs: SQSClient } {
  const config = { region: emulators.region, credentials: LOCAL_CREDENTIALS, endpoint: boundary.endpointOf(0), ...(maxAttempts ? { maxAttempts } : {}) };
  const dynamodb = new DynamoDBClient(config);
  const sqs = new SQSClient({ ...config, useQueueUrlAsEndpoint: false });
  clients.push(dynamodb, sqs);
  return { dynamodb, sqs };
}

async function errorOf(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('AWS boundary: injected errors look like AWS to the SDK', () => {
  it('without faults, requests pass through to the emulators unchanged', async () => {
    const boundary = await boundaryWith({});
    const { dynamodb, sqs } = clientsThrough(boundary);
    await dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'pass-through' }, value: { N: '1' } } }));
    const { Item } = await observer.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'pass-through' } }, ConsistentRead: true }));
    expect(Item?.value).toEqual({ N: '1' });
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hello' }));
    expect(sent.MessageId).toBeTruthy();
    expect(Object.values(boundary.counts()).every((count) => count === 0)).toBe(true);
  });

  it('ddb-throttle: a throttling exception by name, HTTP 400, retried by the SDK as throttling, never applied', async () => {
    const boundary = await boundaryWith({ ddbThrottle: { rate: 1 } });
    const { dynamodb } = clientsThrough(boundary);
    const error = await errorOf(dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'throttled' } } })));
    expect(['ProvisionedThroughputExceededException', 'ThrottlingException']).toContain(error.name);
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.$fault).toBe('client');
    // The standard strategy retried it (a 4xx that is not throttling is not retried), each attempt injected.
    expect(error.$metadata.attempts).toBeGreaterThan(1);
    expect(boundary.counts()['ddb-throttle']).toBe(error.$metadata.attempts);
    const { Item } = await observer.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'throttled' } }, ConsistentRead: true }));
    expect(Item).toBeUndefined();
  });

  it('ddb-error: InternalServerError, HTTP 500, a server fault the SDK retries', async () => {
    const boundary = await boundaryWith({ ddbError: { rate: 1 } });
    const { dynamodb } = clientsThrough(boundary);
    const error = await errorOf(dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'x' } } })));
    expect(error.name).toBe('InternalServerError');
    expect(error.$metadata.httpStatusCode).toBe(500);
    expect(error.$fault).toBe('server');
    expect(error.$metadata.attempts).toBeGreaterThan(1);
    expect(boundary.counts()['ddb-error']).toBe(error.$metadata.attempts);
  });

  it('sqs-error: InternalFailure (500) or RequestThrottled (403) with the query-compatible code, retried', async () => {
    const boundary = await boundaryWith({ sqsError: { rate: 1 } });
    const { sqs } = clientsThrough(boundary, 1);
    const seen = new Set<string>();
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const error = await errorOf(sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] })));
      seen.add(`${error.name} ${error.$metadata.httpStatusCode} ${error.Code}`);
    }
    // Both kinds came up in 12 draws, each as the SDK parses the real one.
    expect([...seen].sort()).toEqual(['InternalFailure 500 InternalFailure', 'RequestThrottled 403 RequestThrottled']);
    expect(boundary.counts()['sqs-error']).toBe(12);
  });

  it("ddb-latency: the answer is the emulator's, only later", async () => {
    const boundary = await boundaryWith({ ddbLatency: { ms: 20, rate: 1 } });
    const { dynamodb } = clientsThrough(boundary);
    await dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'slow' } } }));
    const { Item } = await observer.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'slow' } }, ConsistentRead: true }));
    expect(Item?.pk).toEqual({ S: 'slow' });
    expect(boundary.counts()['ddb-latency']).toBe(1);
  });

  it('ddb-hang: no answer at all; stopping the boundary ends the request (nothing leaks)', async () => {
    const boundary = await boundaryWith({ ddbHang: { rate: 1 } });
    const { dynamodb } = clientsThrough(boundary, 1);
    let settled: 'pending' | 'answered' | 'failed' = 'pending';
    const call = dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'x' } } })).then(
      () => (settled = 'answered'),
      () => (settled = 'failed'),
    );
    // Wait on state: the boundary has taken the request in (and counted it), then stop it.
    while (boundary.counts()['ddb-hang'] === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(settled).toBe('pending');
    await boundary.stop();
    await call;
    expect(settled).toBe('failed');
  });
});

describe('AWS boundary: a fault window (RATE/FROM-TO) on the fault clock', () => {
  it('ddb-throttle=1/10-20: passes through before and after the window, throttles inside it; counts only what it injected', async () => {
    // Prepare: the clock is moved rather than waited on, so nothing depends on timing.
    const boundary = await boundaryWith({ ddbThrottle: { rate: 1, window: { fromMs: 10_000, toMs: 20_000 } } });
    const { dynamodb } = clientsThrough(boundary, 1);
    const put = (pk: string) => dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: pk } } }));

    // Act + Assess: before (5 s on the clock), inside (15 s), after (25 s).
    boundary.startFaultClock(Date.now() - 5_000);
    await put('window-before');
    boundary.startFaultClock(Date.now() - 15_000);
    const error = await errorOf(put('window-inside'));
    expect(['ProvisionedThroughputExceededException', 'ThrottlingException']).toContain(error.name);
    boundary.startFaultClock(Date.now() - 25_000);
    await put('window-after');

    expect(boundary.counts()['ddb-throttle']).toBe(1);
    for (const [pk, stored] of [
      ['window-before', true],
      ['window-inside', false],
      ['window-after', true],
    ] as const) {
      const { Item } = await observer.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk } }, ConsistentRead: true }));
      expect(Item !== undefined).toBe(stored);
    }
  });
});
