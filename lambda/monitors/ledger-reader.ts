import { type AttributeValue, type DynamoDBClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LEDGER, LEDGER_INDEX, LEDGER_SHARDS, type LedgerStatus } from '../contract';
import { hourBucketsBetween, SHARD_IDS } from '../ledger/ledger-index';
import { MonitorDependencyError } from './errors';

/**
 * Reads the ledger through its two indexes, for the monitors and the commands that share their
 * code. Nothing here scans the table or keeps a counter: every number is counted from the items.
 * Every query returns its consumed capacity, so a run can say what it cost.
 */

/** What a reader spent. */
export interface ReadCost {
  /** Query requests (pages). */
  requests: number;
  /** Read capacity units DynamoDB reported (eventually consistent: 0.5 per 4 KB read). */
  readUnits: number;
}

/** One item of a job, as the `byJob` index projects it. */
export interface JobItem {
  readonly key: string;
  readonly status: LedgerStatus;
  readonly leaseUntil?: number;
  readonly receiveCount?: number;
}

/** One completed item, as the `byHour` index projects it. */
export interface CompletedItem {
  readonly key: string;
  readonly task: string;
  readonly completedAt: number;
  readonly features?: Readonly<Record<string, string>>;
}

/** A uniform sample of the completions in [from, to). */
export interface WindowSample extends ReadCost {
  readonly from: number;
  readonly to: number;
  readonly items: readonly CompletedItem[];
  /** Shards read completely (of 16); the last one may be partial when `truncated`. */
  readonly shardsRead: number;
  /** The share of the window's items the sample stands for: shardsRead / 16. */
  readonly fraction: number;
  /** The item bound stopped the read inside a shard. */
  readonly truncated: boolean;
}

/** Runs a query to its last page, handing each page's items to `onItems`; stops when it returns false. */
async function queryPages(
  client: DynamoDBClient,
  input: QueryCommandInput,
  cost: ReadCost,
  onItems: (items: Array<Record<string, AttributeValue>>, hasMore: boolean) => boolean | undefined,
): Promise<void> {
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    let page;
    try {
      page = await client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey, ReturnConsumedCapacity: 'TOTAL' }));
    } catch (error) {
      throw new MonitorDependencyError('dynamodb', `query of ${input.IndexName} failed: ${(error as Error).message}`, { cause: error });
    }
    cost.requests += 1;
    cost.readUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
    startKey = page.LastEvaluatedKey;
    if (onItems(page.Items ?? [], startKey !== undefined) === false) return;
  } while (startKey);
}

/** Every ledger item of a job: one query per shard (16), each to its last page. */
export async function readJobItems(client: DynamoDBClient, tableName: string, jobId: string): Promise<{ items: JobItem[] } & ReadCost> {
  const cost: ReadCost = { requests: 0, readUnits: 0 };
  const items: JobItem[] = [];
  for (const shard of SHARD_IDS) {
    await queryPages(
      client,
      {
        TableName: tableName,
        IndexName: LEDGER_INDEX.BY_JOB,
        KeyConditionExpression: '#jobShard = :jobShard',
        ProjectionExpression: '#pk, #status, #leaseUntil, #receiveCount',
        ExpressionAttributeNames: {
          '#jobShard': LEDGER.JOB_SHARD,
          '#pk': LEDGER.PARTITION_KEY,
          '#status': LEDGER.STATUS,
          '#leaseUntil': LEDGER.LEASE_UNTIL,
          '#receiveCount': LEDGER.RECEIVE_COUNT,
        },
        ExpressionAttributeValues: { ':jobShard': { S: `${jobId}#${shard}` } },
      },
      cost,
      (page) => {
        for (const raw of page) {
          const item = unmarshall(raw);
          items.push({
            key: String(item[LEDGER.PARTITION_KEY]),
            status: item[LEDGER.STATUS] as LedgerStatus,
            ...(item[LEDGER.LEASE_UNTIL] !== undefined ? { leaseUntil: Number(item[LEDGER.LEASE_UNTIL]) } : {}),
            ...(item[LEDGER.RECEIVE_COUNT] !== undefined ? { receiveCount: Number(item[LEDGER.RECEIVE_COUNT]) } : {}),
          });
        }
      },
    );
  }
  return { items, ...cost };
}

/** How much of a window to read. */
export interface WindowReadOptions {
  /** Epoch ms, inclusive. */
  readonly from: number;
  /** Epoch ms, exclusive. */
  readonly to: number;
  /** Shards to read at most (1-16). @default 16 */
  readonly sampleShards?: number;
  /** Items to read at most. */
  readonly maxItems: number;
}

/**
 * A uniform sample of the items completed in [from, to): whole shards, each over every hour of
 * the window, until the sample reaches `sampleShards` or would pass `maxItems`.
 *
 * Shards are read whole so the sample is uniform in time too (a query returns an hour's shard in
 * completion order; stopping inside one would over-weight the window's start). After the first
 * shard the reader knows how many items a shard holds and reads only as many more as fit under
 * `maxItems`; the item bound is still enforced exactly, and `truncated` says when it cut a shard.
 * Cost grows with traffic only until the bound: at most `maxItems` items per run.
 */
export async function readCompletedWindow(client: DynamoDBClient, tableName: string, options: WindowReadOptions): Promise<WindowSample> {
  const { from, to, maxItems } = options;
  const wantedShards = Math.min(LEDGER_SHARDS, Math.max(1, options.sampleShards ?? LEDGER_SHARDS));
  const cost: ReadCost = { requests: 0, readUnits: 0 };
  const items: CompletedItem[] = [];
  const hours = hourBucketsBetween(from, to);
  let shardsRead = 0;
  let shardLimit = wantedShards;
  let truncated = false;

  for (const shard of SHARD_IDS.slice(0, wantedShards)) {
    if (shardsRead >= shardLimit) break;
    for (const hour of hours) {
      if (items.length >= maxItems) {
        truncated = true;
        break;
      }
      await queryPages(
        client,
        {
          TableName: tableName,
          IndexName: LEDGER_INDEX.BY_HOUR,
          KeyConditionExpression: '#hourShard = :hourShard AND #completedAt BETWEEN :from AND :to',
          ProjectionExpression: '#pk, #task, #completedAt, #features',
          ExpressionAttributeNames: {
            '#hourShard': LEDGER.HOUR_SHARD,
            '#completedAt': LEDGER.COMPLETED_AT,
            '#pk': LEDGER.PARTITION_KEY,
            '#task': LEDGER.TASK,
            '#features': LEDGER.FEATURES,
          },
          ExpressionAttributeValues: {
            ':hourShard': { S: `${hour}#${shard}` },
            ':from': { N: String(from) },
            ':to': { N: String(to - 1) },
          },
          // Pages stay up to 1 MB; the limit only keeps the last one inside the bound.
          Limit: Math.max(1, maxItems - items.length),
        },
        cost,
        (page, hasMore) => {
          for (const raw of page) {
            const item = unmarshall(raw);
            items.push({
              key: String(item[LEDGER.PARTITION_KEY]),
              task: String(item[LEDGER.TASK] ?? ''),
              completedAt: Number(item[LEDGER.COMPLETED_AT]),
              ...(item[LEDGER.FEATURES] ? { features: item[LEDGER.FEATURES] as Record<string, string> } : {}),
            });
          }
          if (items.length >= maxItems && hasMore) {
            truncated = true;
            return false;
          }
          return true;
        },
      );
      if (truncated) break;
    }
    if (truncated) {
      shardsRead += 1;
      break;
    }
    shardsRead += 1;
    if (shardsRead === 1 && items.length > 0) {
      // One shard is 1/16 of the window: read as many more whole shards as fit under the bound.
      shardLimit = Math.min(wantedShards, Math.max(1, Math.floor(maxItems / items.length)));
    }
  }
  return { from, to, items, shardsRead, fraction: shardsRead / LEDGER_SHARDS, truncated, ...cost };
}
