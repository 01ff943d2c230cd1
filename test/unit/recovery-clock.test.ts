import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { recordOnCallAction } from '../../pipectl/recovery-clock';

/** A DynamoDB client that keeps what it is sent (or fails). */
function fakeDynamoDb(fail = false) {
  const sent: unknown[] = [];
  return {
    sent,
    client: {
      send: async (command: unknown) => {
        if (fail) throw new Error('ProvisionedThroughputExceededException');
        sent.push(command);
        return {};
      },
    },
  };
}

afterEach(() => vi.unstubAllEnvs());

describe('recordOnCallAction', () => {
  it('writes one recovery#<ms>#<action> item with who, when, what and whether an override is left', async () => {
    vi.stubEnv('PIPECTL_OPERATOR', 'alice');
    const dynamodb = fakeDynamoDb();
    const target = { kind: 'local' as const, region: 'us-east-1', dynamodb: dynamodb.client as never, resources: { controlTableName: 'control' } as never };
    const before = Date.now();
    expect(await recordOnCallAction(target, { action: 'pause', override: 'placed', detail: 'event source mapping Disabled' })).toBe(true);
    expect(dynamodb.sent).toHaveLength(1);
    const command = dynamodb.sent[0] as PutItemCommand;
    expect(command).toBeInstanceOf(PutItemCommand);
    const item = unmarshall(command.input.Item ?? {});
    expect(item).toMatchObject({ action: 'pause', by: 'alice', override: 'placed', detail: 'event source mapping Disabled' });
    expect(item.at).toBeGreaterThanOrEqual(before);
    expect(item.pk).toBe(`recovery#${String(item.at).padStart(15, '0')}#pause`);
  });

  it('never fails the action it records: a failed write returns false', async () => {
    const target = {
      kind: 'local' as const,
      region: 'us-east-1',
      dynamodb: fakeDynamoDb(true).client as never,
      resources: { controlTableName: 'control' } as never,
    };
    expect(await recordOnCallAction(target, { action: 'resume', override: 'removed', by: 'bob' })).toBe(false);
  });
});
