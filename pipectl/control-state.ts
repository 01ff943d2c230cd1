import { type DynamoDBClient, GetItemCommand, paginateScan, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { BREAKER, BREAKER_FORCED, BREAKER_STATE, BUDGET, CONTROL } from '../lambda/contract';

/** A model's shared breaker as pipectl shows it (item shape: `BREAKER` in lambda/contract.ts). */
export interface BreakerView {
  readonly modelId: string;
  /** closed, open or half-open, as last written. */
  readonly state: string;
  /** A manual override (`pipectl breaker open|close --pin`): wins over `state`. */
  readonly forced?: string;
  readonly forcedReason?: string;
  readonly forcedBy?: string;
  readonly forcedAt?: number;
  /** What callers get now: the override, else the state. */
  readonly effective: string;
  readonly failures: number;
  readonly calls: number;
  readonly openedAt?: number;
  readonly openUntil?: number;
  readonly openCount: number;
  readonly lastErrorClass?: string;
  readonly updatedAt?: number;
}

function toBreakerView(item: Record<string, unknown>): BreakerView {
  const number = (name: string) => (typeof item[name] === 'number' ? (item[name] as number) : undefined);
  const text = (name: string) => (typeof item[name] === 'string' ? (item[name] as string) : undefined);
  const modelId = text(BREAKER.MODEL_ID) ?? String(item[CONTROL.PARTITION_KEY] ?? '').slice(CONTROL.BREAKER_PREFIX.length);
  const state = text(BREAKER.STATE) ?? BREAKER_STATE.CLOSED;
  const forced = text(BREAKER.FORCED);
  return {
    modelId,
    state,
    ...(forced ? { forced } : {}),
    ...(text(BREAKER.FORCED_REASON) ? { forcedReason: text(BREAKER.FORCED_REASON) } : {}),
    ...(text(BREAKER.FORCED_BY) ? { forcedBy: text(BREAKER.FORCED_BY) } : {}),
    ...(number(BREAKER.FORCED_AT) !== undefined ? { forcedAt: number(BREAKER.FORCED_AT) } : {}),
    effective: forced ? `${forced} (forced)` : state,
    failures: number(BREAKER.FAILURES) ?? 0,
    calls: number(BREAKER.CALLS) ?? 0,
    ...(number(BREAKER.OPENED_AT) !== undefined ? { openedAt: number(BREAKER.OPENED_AT) } : {}),
    ...(number(BREAKER.OPEN_UNTIL) !== undefined ? { openUntil: number(BREAKER.OPEN_UNTIL) } : {}),
    openCount: number(BREAKER.OPEN_COUNT) ?? 0,
    ...(text(BREAKER.LAST_ERROR_CLASS) ? { lastErrorClass: text(BREAKER.LAST_ERROR_CLASS) } : {}),
    ...(number(BREAKER.UPDATED_AT) !== undefined ? { updatedAt: number(BREAKER.UPDATED_AT) } : {}),
  };
}

/** Control-table items whose key starts with `prefix` (the table is small: one item per thing). */
export async function scanPrefix(dynamodb: DynamoDBClient, tableName: string, prefix: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  const pages = paginateScan(
    { client: dynamodb },
    {
      TableName: tableName,
      ConsistentRead: true,
      FilterExpression: 'begins_with(#pk, :prefix)',
      ExpressionAttributeNames: { '#pk': CONTROL.PARTITION_KEY },
      ExpressionAttributeValues: { ':prefix': { S: prefix } },
    },
  );
  for await (const page of pages) for (const item of page.Items ?? []) items.push(unmarshall(item));
  return items;
}

/** Every model's breaker item (a model nobody has called yet has none: it is closed). */
export async function listBreakers(dynamodb: DynamoDBClient, tableName: string): Promise<BreakerView[]> {
  return (await scanPrefix(dynamodb, tableName, CONTROL.BREAKER_PREFIX)).map(toBreakerView).sort((a, b) => a.modelId.localeCompare(b.modelId));
}

export async function getBreaker(dynamodb: DynamoDBClient, tableName: string, modelId: string): Promise<BreakerView | undefined> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.BREAKER_PREFIX}${modelId}` } }, ConsistentRead: true }),
  );
  return Item ? toBreakerView(unmarshall(Item)) : undefined;
}

/** What an operator does to a breaker. */
export type BreakerAction =
  /** Force it open: no call reaches the model until `close` or `release`. */
  | { readonly kind: 'open'; readonly reason: string }
  /** Back to normal from a clean slate: override removed, state closed, window emptied (it can trip again). */
  | { readonly kind: 'close' }
  /** Force it closed: calls go through whatever fails, until `release`. */
  | { readonly kind: 'pin-closed'; readonly reason: string }
  /** Remove the override; the breaker goes on from its current state. */
  | { readonly kind: 'release' };

/**
 * Applies an operator's action to a model's breaker item (creating it if the model was never
 * called). Instances see it within their BREAKER_CACHE_MS. Returns the item as written.
 */
export async function applyBreakerAction(
  dynamodb: DynamoDBClient,
  tableName: string,
  modelId: string,
  action: BreakerAction,
  operator: string,
  now = Date.now(),
): Promise<BreakerView> {
  const names: Record<string, string> = {
    '#modelId': BREAKER.MODEL_ID,
    '#updatedAt': BREAKER.UPDATED_AT,
    '#forced': BREAKER.FORCED,
    '#forcedReason': BREAKER.FORCED_REASON,
    '#forcedBy': BREAKER.FORCED_BY,
    '#forcedAt': BREAKER.FORCED_AT,
  };
  const values: Record<string, { S: string } | { N: string }> = { ':modelId': { S: modelId }, ':now': { N: String(now) } };
  let update: string;
  switch (action.kind) {
    case 'open':
    case 'pin-closed':
      values[':forced'] = { S: action.kind === 'open' ? BREAKER_FORCED.OPEN : BREAKER_FORCED.CLOSED };
      values[':reason'] = { S: action.reason.slice(0, 500) || '(no reason given)' };
      values[':by'] = { S: operator.slice(0, 128) || 'unknown' };
      update = 'SET #modelId = :modelId, #updatedAt = :now, #forced = :forced, #forcedReason = :reason, #forcedBy = :by, #forcedAt = :now';
      break;
    case 'close':
      Object.assign(names, {
        '#state': BREAKER.STATE,
        '#failures': BREAKER.FAILURES,
        '#calls': BREAKER.CALLS,
        '#previousFailures': BREAKER.PREVIOUS_FAILURES,
        '#previousCalls': BREAKER.PREVIOUS_CALLS,
        '#openUntil': BREAKER.OPEN_UNTIL,
        '#probeToken': BREAKER.PROBE_TOKEN,
        '#probeUntil': BREAKER.PROBE_UNTIL,
      });
      values[':closed'] = { S: BREAKER_STATE.CLOSED };
      values[':zero'] = { N: '0' };
      update =
        'SET #modelId = :modelId, #updatedAt = :now, #state = :closed, #failures = :zero, #calls = :zero, #previousFailures = :zero, ' +
        '#previousCalls = :zero REMOVE #forced, #forcedReason, #forcedBy, #forcedAt, #openUntil, #probeToken, #probeUntil';
      break;
    case 'release':
      update = 'SET #modelId = :modelId, #updatedAt = :now REMOVE #forced, #forcedReason, #forcedBy, #forcedAt';
      break;
  }
  // Only the names the expression uses may be sent.
  const used = Object.fromEntries(Object.entries(names).filter(([name]) => update.includes(name)));
  const { Attributes } = await dynamodb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.BREAKER_PREFIX}${modelId}` } },
      UpdateExpression: update,
      ExpressionAttributeNames: used,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    }),
  );
  return toBreakerView(unmarshall(Attributes ?? {}));
}

/** The spend of one UTC hour (item shape: `BUDGET` in lambda/contract.ts). */
export interface BudgetView {
  readonly hour: string;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly calls: number;
  readonly costUsd: number;
  readonly limitTokens: number;
  readonly limitUsd: number;
  /** max(tokens / token limit, cost / dollar limit) × 100; undefined when no limit is set. */
  readonly usedPercent?: number;
}

/** The budget item of the hour `now` falls in; zeros when nothing was spent yet. */
export async function getBudget(dynamodb: DynamoDBClient, tableName: string, now = Date.now()): Promise<BudgetView> {
  const hour = new Date(now).toISOString().slice(0, 13);
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.BUDGET_PREFIX}${hour}` } }, ConsistentRead: true }),
  );
  const item = Item ? unmarshall(Item) : {};
  const number = (name: string) => (typeof item[name] === 'number' ? (item[name] as number) : 0);
  const tokens = number(BUDGET.TOKENS_IN) + number(BUDGET.TOKENS_OUT);
  const shares = [
    number(BUDGET.LIMIT_TOKENS) > 0 ? tokens / number(BUDGET.LIMIT_TOKENS) : undefined,
    number(BUDGET.LIMIT_USD) > 0 ? number(BUDGET.COST_USD) / number(BUDGET.LIMIT_USD) : undefined,
  ].filter((share): share is number => share !== undefined);
  return {
    hour,
    tokensIn: number(BUDGET.TOKENS_IN),
    tokensOut: number(BUDGET.TOKENS_OUT),
    calls: number(BUDGET.CALLS),
    costUsd: number(BUDGET.COST_USD),
    limitTokens: number(BUDGET.LIMIT_TOKENS),
    limitUsd: number(BUDGET.LIMIT_USD),
    ...(shares.length > 0 ? { usedPercent: Math.max(...shares) * 100 } : {}),
  };
}
