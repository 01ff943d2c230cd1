import { describe, expect, it } from 'vitest';
import { CallAttribution, callOriginOf, functionAppId } from '../../local/call-attribution';
import { OBSERVER_USER_AGENT } from '../../local/emulators';
import { iamActionOf, wildcardMatches } from '../support/role-policies';

/** A User-Agent as the SDK writes it, with Powertools' mark appended to the app id as it does in the bundle. */
const userAgent = (appId: string) => `aws-sdk-js/3.1161.0 ua/2.1 os/linux lang/js md/nodejs#20.20.2 api/dynamodb#3.1161.0 m/E,P,g app/${appId}`;

describe('call attribution', () => {
  it.each([
    [{ functionId: 'Processor60228016' }, undefined, 'fn.Processor60228016'],
    [{ functionId: 'Processor60228016', via: 'event-source' as const }, undefined, 'fn.Processor60228016.event-source'],
    [{ functionId: 'MonitorsReconciler1CFDFEE4' }, OBSERVER_USER_AGENT, 'pipectl-observer-fn.MonitorsReconciler1CFDFEE4'],
  ])('names %o (observer mark %s) as %s and reads it back, Powertools suffix or not', (origin, mark, appId) => {
    // Act
    const written = functionAppId(origin, mark);

    // Assess
    expect(written).toBe(appId);
    expect(callOriginOf(userAgent(written))).toEqual(origin);
    expect(callOriginOf(userAgent(`${written}-PT-NO-OP-2.36.0-PTEnv-NA`))).toEqual(origin);
  });

  it('attributes nothing to requests without a function app id (the producer, the report, pipectl)', () => {
    expect(callOriginOf('aws-sdk-js/3.1161.0 api/sqs#3.1161.0 m/N,E,e pipectl-observer')).toBeUndefined();
    expect(callOriginOf(userAgent('some-app'))).toBeUndefined();
  });

  it('refuses an app id the SDK would not send whole', () => {
    expect(() => functionAppId({ functionId: 'A'.repeat(40) }, OBSERVER_USER_AGENT)).toThrow(/longer than the SDK's 50/);
  });

  it('records table and index, queue URL, and one entry per table of a batch, counting repeats', () => {
    // Prepare
    const attribution = new CallAttribution();
    const origin = { functionId: 'Fn' };

    // Act
    attribution.record('dynamodb', origin, 'DynamoDB_20120810.Query', JSON.stringify({ TableName: 'ledger', IndexName: 'byJob' }));
    attribution.record('dynamodb', origin, 'DynamoDB_20120810.Query', JSON.stringify({ TableName: 'ledger', IndexName: 'byJob' }));
    attribution.record('dynamodb', origin, 'DynamoDB_20120810.BatchWriteItem', JSON.stringify({ RequestItems: { a: [], b: [] } }));
    attribution.record('sqs', origin, 'AmazonSQS.SendMessage', { QueueUrl: 'http://127.0.0.1:1/000000000000/dlq', MessageBody: 'x' });

    // Assess
    expect(attribution.list()).toEqual(
      expect.arrayContaining([
        { functionId: 'Fn', service: 'dynamodb', operation: 'Query', tableName: 'ledger', indexName: 'byJob', count: 2 },
        { functionId: 'Fn', service: 'dynamodb', operation: 'BatchWriteItem', tableName: 'a', count: 1 },
        { functionId: 'Fn', service: 'dynamodb', operation: 'BatchWriteItem', tableName: 'b', count: 1 },
        { functionId: 'Fn', service: 'sqs', operation: 'SendMessage', queueUrl: 'http://127.0.0.1:1/000000000000/dlq', count: 1 },
      ]),
    );
    expect(attribution.list()).toHaveLength(4);
  });
});

describe('IAM evaluation helpers (test/support/role-policies.ts)', () => {
  it.each([
    ['sqs', 'ChangeMessageVisibilityBatch', 'sqs:ChangeMessageVisibility'],
    ['sqs', 'DeleteMessageBatch', 'sqs:DeleteMessage'],
    ['sqs', 'SendMessageBatch', 'sqs:SendMessage'],
    ['sqs', 'ReceiveMessage', 'sqs:ReceiveMessage'],
    ['dynamodb', 'BatchWriteItem', 'dynamodb:BatchWriteItem'],
  ] as const)('authorises %s %s as %s', (service, operation, action) => {
    expect(iamActionOf(service, operation)).toBe(action);
  });

  it.each([
    ['dynamodb:*', 'dynamodb:GetItem', true, true],
    ['DynamoDB:getitem', 'dynamodb:GetItem', true, true],
    ['dynamodb:Get*', 'dynamodb:Query', true, false],
    ['arn:aws:dynamodb:r:a:table/t/index/*', 'arn:aws:dynamodb:r:a:table/t/index/byJob', false, true],
    ['arn:aws:dynamodb:r:a:table/t', 'arn:aws:dynamodb:r:a:table/t/index/byJob', false, false],
    ['arn:aws:sqs:r:a:queue-?', 'arn:aws:sqs:r:a:queue-1', false, true],
  ])('%s matches %s: %s', (pattern, value, ignoreCase, expected) => {
    expect(wildcardMatches(pattern, value, ignoreCase)).toBe(expected);
  });
});
