import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { withoutSdkRequestLogging, withRequestTimeouts } from '../../lambda/processor/sdk-client-options';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

describe('withoutSdkRequestLogging', () => {
  it.each([
    ['DynamoDB', () => new DynamoDBClient(config)],
    ['SQS', () => new SQSClient(config)],
  ])('%s: takes the logger middleware off, and only it', (_name, create) => {
    const plain = create().middlewareStack.identify();
    expect(plain.some((name) => name.startsWith('loggerMiddleware'))).toBe(true);
    const stripped = withoutSdkRequestLogging(create()).middlewareStack.identify();
    expect(stripped).toEqual(plain.filter((name) => !name.startsWith('loggerMiddleware')));
  });

  it('still rejects a failed request with the error (the middleware only logged it)', async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    const client = withoutSdkRequestLogging(new DynamoDBClient(withRequestTimeouts({ ...config, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 })));
    await expect(client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'k' } } }))).rejects.toThrow(/ECONNREFUSED|connect/);
    client.destroy();
  });
});
