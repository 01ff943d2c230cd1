import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CONTROL } from '../contract';
import { DependencyError } from '../errors/pipeline-errors';

/** The counter's attribute on `calls#<key>`. */
const CALLS = 'calls';
/** A retried input settles within the queue's retention; a day covers every retry of it. */
const TTL_SECONDS = 86_400;

/**
 * Model calls spent on one input across receives and re-sends, for the loop guard
 * (MODEL_CALLS_PER_KEY): added to when a record that made calls goes back to the queue, read when
 * a claim shows the key was tried before (FAILED, or a lease taken over). The happy path neither
 * reads nor writes it. A call made by an instance that crashed is not counted.
 */
export class KeyCallCounter {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async read(key: string): Promise<number> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: this.key(key),
          ConsistentRead: true,
          ProjectionExpression: '#calls',
          ExpressionAttributeNames: { '#calls': CALLS },
        }),
      );
      return Number(Item?.[CALLS]?.N ?? 0);
    } catch (error) {
      throw new DependencyError('dynamodb', `reading the model calls of ${key} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async add(key: string, calls: number, now: number): Promise<void> {
    if (calls <= 0) return;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(key),
          UpdateExpression: 'ADD #calls :calls SET #expiresAt = :expiresAt',
          ExpressionAttributeNames: { '#calls': CALLS, '#expiresAt': CONTROL.TTL },
          ExpressionAttributeValues: { ':calls': { N: String(calls) }, ':expiresAt': { N: String(Math.floor(now / 1000) + TTL_SECONDS) } },
        }),
      );
    } catch (error) {
      throw new DependencyError('dynamodb', `counting the model calls of ${key} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private key(key: string) {
    return { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.KEY_CALLS_PREFIX}${key}` } };
  }
}
