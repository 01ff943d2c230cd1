import { ConditionalCheckFailedException, type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { CONTROL, DRIFT_BASELINE, DRIFT_BASELINE_SOURCE } from '../contract';
import { countFeatures, type FeatureHistograms } from './drift-assessment';
import { MonitorDependencyError, MonitorInputError } from './errors';
import { readCompletedWindow } from './ledger-reader';

/** A task's baseline: the bin counts of each feature over a window. */
export interface DriftBaseline {
  readonly task: string;
  readonly source: typeof DRIFT_BASELINE_SOURCE.PINNED | typeof DRIFT_BASELINE_SOURCE.FIRST_FULL_DAY | typeof DRIFT_BASELINE_SOURCE.REFERENCE;
  /** Epoch ms, inclusive. */
  readonly from: number;
  /** Epoch ms, exclusive. */
  readonly to: number;
  /** Items counted (a sample when the window was read by shards). */
  readonly items: number;
  readonly histograms: FeatureHistograms;
  readonly pinnedAt: number;
  readonly pinnedBy?: string;
}

/** No baseline yet: the monitor is waiting for the first full UTC day after `firstSeenAt`. */
export interface PendingBaseline {
  readonly task: string;
  readonly source: typeof DRIFT_BASELINE_SOURCE.PENDING;
  readonly firstSeenAt: number;
}

const DAY_MS = 86_400_000;

/** The first full UTC day after an instant: [next midnight, the midnight after). */
export function firstFullDayAfter(epochMs: number): { from: number; to: number } {
  const from = Math.floor(epochMs / DAY_MS) * DAY_MS + DAY_MS;
  return { from, to: from + DAY_MS };
}

function keyOf(task: string) {
  return { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.DRIFT_BASELINE_PREFIX}${task}` } };
}

/** The stored baseline (or pending marker) of a task. */
export async function readBaseline(client: DynamoDBClient, controlTable: string, task: string): Promise<DriftBaseline | PendingBaseline | undefined> {
  let item;
  try {
    ({ Item: item } = await client.send(new GetItemCommand({ TableName: controlTable, Key: keyOf(task), ConsistentRead: true })));
  } catch (error) {
    throw new MonitorDependencyError('dynamodb', `read the drift baseline of ${task}: ${(error as Error).message}`, { cause: error });
  }
  if (!item) return undefined;
  const value = unmarshall(item);
  if (value[DRIFT_BASELINE.SOURCE] === DRIFT_BASELINE_SOURCE.PENDING) {
    return { task, source: DRIFT_BASELINE_SOURCE.PENDING, firstSeenAt: Number(value[DRIFT_BASELINE.FIRST_SEEN_AT]) };
  }
  return {
    task,
    source: value[DRIFT_BASELINE.SOURCE] as DriftBaseline['source'],
    from: Number(value[DRIFT_BASELINE.FROM]),
    to: Number(value[DRIFT_BASELINE.TO]),
    items: Number(value[DRIFT_BASELINE.ITEMS]),
    histograms: (value[DRIFT_BASELINE.HISTOGRAMS] ?? {}) as FeatureHistograms,
    pinnedAt: Number(value[DRIFT_BASELINE.PINNED_AT]),
    ...(value[DRIFT_BASELINE.PINNED_BY] !== undefined ? { pinnedBy: String(value[DRIFT_BASELINE.PINNED_BY]) } : {}),
  };
}

/**
 * Stores a baseline, replacing what was there. With `onlyIfUnpinned`, an existing baseline that a
 * person pinned is kept (the monitor's automatic first-full-day baseline never overwrites one).
 * @returns `kept` when `onlyIfUnpinned` found a pinned baseline.
 */
export async function writeBaseline(
  client: DynamoDBClient,
  controlTable: string,
  baseline: DriftBaseline,
  options: { readonly onlyIfUnpinned?: boolean } = {},
): Promise<'written' | 'kept'> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: controlTable,
        Item: {
          ...keyOf(baseline.task),
          ...marshall(
            {
              [DRIFT_BASELINE.TASK]: baseline.task,
              [DRIFT_BASELINE.SOURCE]: baseline.source,
              [DRIFT_BASELINE.FROM]: baseline.from,
              [DRIFT_BASELINE.TO]: baseline.to,
              [DRIFT_BASELINE.ITEMS]: baseline.items,
              [DRIFT_BASELINE.HISTOGRAMS]: baseline.histograms,
              [DRIFT_BASELINE.PINNED_AT]: baseline.pinnedAt,
              [DRIFT_BASELINE.PINNED_BY]: baseline.pinnedBy,
            },
            { removeUndefinedValues: true },
          ),
        },
        ...(options.onlyIfUnpinned
          ? {
              ConditionExpression: 'attribute_not_exists(#pk) OR #source <> :pinned',
              ExpressionAttributeNames: { '#pk': CONTROL.PARTITION_KEY, '#source': DRIFT_BASELINE.SOURCE },
              ExpressionAttributeValues: { ':pinned': { S: DRIFT_BASELINE_SOURCE.PINNED } },
            }
          : {}),
      }),
    );
    return 'written';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'kept';
    throw new MonitorDependencyError('dynamodb', `write the drift baseline of ${baseline.task}: ${(error as Error).message}`, { cause: error });
  }
}

/** Records when the monitor first saw a task's items, unless a baseline or marker exists. */
export async function markFirstSeen(client: DynamoDBClient, controlTable: string, task: string, at: number): Promise<void> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: controlTable,
        Item: {
          ...keyOf(task),
          ...marshall({ [DRIFT_BASELINE.TASK]: task, [DRIFT_BASELINE.SOURCE]: DRIFT_BASELINE_SOURCE.PENDING, [DRIFT_BASELINE.FIRST_SEEN_AT]: at }),
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CONTROL.PARTITION_KEY },
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return;
    throw new MonitorDependencyError('dynamodb', `mark the first sight of ${task}: ${(error as Error).message}`, { cause: error });
  }
}

/** Where and how much to read for a baseline. */
export interface BuildBaselineOptions {
  readonly sampleShards: number;
  readonly maxItems: number;
  readonly source: DriftBaseline['source'];
  readonly pinnedAt: number;
  readonly pinnedBy?: string;
}

/**
 * Counts a task's features over [from, to) from the ledger (a uniform shard sample, bounded by
 * `maxItems`), as a baseline ready to store.
 * @throws {MonitorInputError} when the window holds no completed item of the task with features.
 */
export async function buildBaseline(
  client: DynamoDBClient,
  ledgerTable: string,
  task: string,
  from: number,
  to: number,
  options: BuildBaselineOptions,
): Promise<DriftBaseline & { readonly requests: number; readonly readUnits: number }> {
  if (!(from < to))
    throw new MonitorInputError(`the baseline window is empty: from ${new Date(from).toISOString()} is not before to ${new Date(to).toISOString()}`);
  const sample = await readCompletedWindow(client, ledgerTable, { from, to, sampleShards: options.sampleShards, maxItems: options.maxItems });
  const counted = countFeatures(sample.items).get(task);
  if (!counted || counted.items === counted.withoutFeatures) {
    throw new MonitorInputError(
      `no completed ${task} item with features between ${new Date(from).toISOString()} and ${new Date(to).toISOString()} ` +
        `(${sample.items.length} item(s) of any task read from ${sample.shardsRead} shard(s))`,
    );
  }
  return {
    task,
    source: options.source,
    from,
    to,
    items: counted.items - counted.withoutFeatures,
    histograms: counted.histograms,
    pinnedAt: options.pinnedAt,
    ...(options.pinnedBy ? { pinnedBy: options.pinnedBy } : {}),
    requests: sample.requests,
    readUnits: sample.readUnits,
  };
}
