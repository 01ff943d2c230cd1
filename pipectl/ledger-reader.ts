import { BatchGetItemCommand, type DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LEDGER, LEDGER_STATUS, type LedgerStatus } from '../lambda/contract';

/** A ledger item as pipectl reads it (attribute names: lambda/ledger/dynamodb-ledger-store.ts). */
export type LedgerItem = Record<string, unknown> & { readonly pk: string; readonly status?: LedgerStatus };

/** States after which a key is never processed again: sending it again is a duplicate. */
export const DONE_STATUSES: ReadonlySet<string> = new Set([LEDGER_STATUS.COMPLETED, LEDGER_STATUS.IN_REVIEW, LEDGER_STATUS.REJECTED]);

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_LIMIT = 100;

export async function getLedgerItem(dynamodb: DynamoDBClient, tableName: string, key: string): Promise<LedgerItem | undefined> {
  const { Item } = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { [LEDGER.PARTITION_KEY]: { S: key } }, ConsistentRead: true }));
  return Item ? (unmarshall(Item) as LedgerItem) : undefined;
}

/**
 * The ledger items of many keys (absent keys are absent from the map), 100 per request; keys
 * DynamoDB leaves unprocessed (throttling) are asked again with a growing pause.
 */
export async function getLedgerItems(
  dynamodb: DynamoDBClient,
  tableName: string,
  keys: Iterable<string>,
  projection?: readonly string[],
): Promise<Map<string, LedgerItem>> {
  const unique = [...new Set(keys)];
  const items = new Map<string, LedgerItem>();
  const names = projection ? Object.fromEntries(projection.map((name, index) => [`#a${index}`, name])) : undefined;
  for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
    let pending: Array<Record<string, AttributeValue>> = unique.slice(start, start + BATCH_GET_LIMIT).map((key) => ({ [LEDGER.PARTITION_KEY]: { S: key } }));
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** attempt)));
      if (attempt > 8) throw new Error(`DynamoDB left ${pending.length} key(s) unprocessed after ${attempt} attempts`);
      const response = await dynamodb.send(
        new BatchGetItemCommand({
          RequestItems: {
            [tableName]: {
              Keys: pending,
              ConsistentRead: true,
              ...(names ? { ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names } : {}),
            },
          },
        }),
      );
      for (const item of response.Responses?.[tableName] ?? []) {
        const parsed = unmarshall(item) as LedgerItem;
        items.set(parsed.pk, parsed);
      }
      pending = response.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return items;
}
