import { ConditionalCheckFailedException, type DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { CONTROL } from '../contract';
import { DependencyError } from '../errors/pipeline-errors';
import { parseSwitch, SWITCH_ITEM, SwitchError } from './runtime-switches';

/** One change of one switch, as recorded. */
export interface SwitchChange {
  readonly name: string;
  /** The new value; undefined when the switch was removed. */
  readonly value?: string;
  /** The value before; undefined when it was not set. */
  readonly previous?: string;
  /** Who: the caller's identity (STS on AWS, the OS user locally, or the automated action's name). */
  readonly by: string;
  /** Epoch ms. */
  readonly at: number;
  readonly reason: string;
  /** The item's version after the change. */
  readonly version: number;
}

/** The switches item as stored, for `pipectl switch list`. */
export interface StoredSwitches {
  readonly values: Readonly<Record<string, string>>;
  readonly version: number;
  readonly lastChange?: SwitchChange;
}

/** Days a change record is kept (the control table's TTL). */
const CHANGE_RETENTION_DAYS = 90;

/** Attempts of a change that races another writer (each re-reads the item). */
const MAX_ATTEMPTS = 5;

/** Reads the `switches#current` item (strongly consistent). */
export async function readSwitches(client: DynamoDBClient, tableName: string): Promise<StoredSwitches> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: tableName, Key: { [CONTROL.PARTITION_KEY]: { S: CONTROL.SWITCHES_ITEM } }, ConsistentRead: true }),
  );
  if (!Item) return { values: {}, version: 0 };
  const item = unmarshall(Item);
  return {
    values: (item[SWITCH_ITEM.VALUES] ?? {}) as Record<string, string>,
    version: typeof item[SWITCH_ITEM.VERSION] === 'number' ? item[SWITCH_ITEM.VERSION] : 0,
    ...(item[SWITCH_ITEM.LAST_CHANGE] ? { lastChange: item[SWITCH_ITEM.LAST_CHANGE] as SwitchChange } : {}),
  };
}

/** What to change. */
export interface SwitchChangeRequest {
  readonly name: string;
  /** The new value (validated by `parseSwitch`); undefined removes the switch. */
  readonly value?: string;
  readonly by: string;
  /** Required: recorded with the change. */
  readonly reason: string;
  /** @default Date.now() */
  readonly now?: number;
}

/**
 * Sets or removes one switch. The value and the change's record (`lastChange`: who, when, why, the
 * previous value) are one conditional UpdateItem on the version read, so a change is never applied
 * unrecorded and two operators never overwrite each other unknowingly (the loser re-reads and
 * records the winner's value as its previous). A history item `switch-change#<ms>#<name>` is added
 * after it (the control table has no transactions locally: dynalite lacks TransactWriteItems);
 * if that write fails the change still stands and `lastChange` holds it.
 */
export async function changeSwitch(client: DynamoDBClient, tableName: string, request: SwitchChangeRequest): Promise<SwitchChange> {
  const reason = request.reason.trim();
  if (reason === '') throw new SwitchError(`${request.name}: a reason is required`, request.name);
  const value = request.value === undefined ? undefined : parseSwitch(request.name, request.value);
  for (let attempt = 1; ; attempt += 1) {
    const current = await readSwitches(client, tableName);
    const previous = current.values[request.name];
    const at = request.now ?? Date.now();
    const change: SwitchChange = {
      name: request.name,
      ...(value !== undefined ? { value } : {}),
      ...(previous !== undefined ? { previous } : {}),
      by: request.by.slice(0, 200) || 'unknown',
      at,
      reason: reason.slice(0, 500),
      version: current.version + 1,
    };
    const values = { ...current.values };
    if (value === undefined) delete values[request.name];
    else values[request.name] = value;
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { [CONTROL.PARTITION_KEY]: { S: CONTROL.SWITCHES_ITEM } },
          ConditionExpression: current.version === 0 ? 'attribute_not_exists(#version)' : '#version = :read',
          UpdateExpression: 'SET #values = :values, #version = :version, #lastChange = :change, #updatedAt = :at',
          ExpressionAttributeNames: {
            '#values': SWITCH_ITEM.VALUES,
            '#version': SWITCH_ITEM.VERSION,
            '#lastChange': SWITCH_ITEM.LAST_CHANGE,
            '#updatedAt': SWITCH_ITEM.UPDATED_AT,
          },
          ExpressionAttributeValues: {
            ':values': { M: marshall(values) },
            ':version': { N: String(change.version) },
            ':change': { M: marshall(change, { removeUndefinedValues: true }) },
            ':at': { N: String(at) },
            ...(current.version === 0 ? {} : { ':read': { N: String(current.version) } }),
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && attempt < MAX_ATTEMPTS) continue;
      throw new DependencyError('dynamodb', `changing switch ${request.name} failed: ${(error as Error).message}`, { cause: error });
    }
    await client
      .send(
        new PutItemCommand({
          TableName: tableName,
          Item: marshall(
            {
              [CONTROL.PARTITION_KEY]: `${CONTROL.SWITCH_CHANGE_PREFIX}${String(at).padStart(15, '0')}#${request.name}`,
              ...change,
              [CONTROL.TTL]: Math.floor(at / 1000) + CHANGE_RETENTION_DAYS * 86_400,
            },
            { removeUndefinedValues: true },
          ),
        }),
      )
      .catch(() => undefined);
    return change;
  }
}
