import { ConditionalCheckFailedException, type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { CONTROL, JOB, JOB_STATUS } from '../lambda/contract';
import { UsageError } from './errors';

/** Days a job item is kept after its deadline (the default of `registerJob` in lambda/monitors/completeness.ts). */
const JOB_RETENTION_DAYS = 30;

/** A registered job, the control-table item `job#<jobId>` (attribute names: JOB in lambda/contract.ts). */
export interface JobRecord {
  readonly jobId: string;
  /** Messages the producer sends for the job (duplicates included). */
  readonly expected: number;
  /** Distinct inputs among them: the ledger holds one item per distinct input. */
  readonly unique?: number;
  /** Epoch ms of the first send. */
  readonly sentAt: number;
  /** Epoch ms after which missing items are reported. */
  readonly deadline?: number;
  readonly source?: string;
}

export interface RegisterJobRequest {
  readonly jobId: string;
  readonly expected: number;
  readonly unique: number;
  readonly now: number;
  /** How long after the first send the job should be complete. */
  readonly deadlineMs: number;
}

/**
 * Registers a job, or confirms an earlier registration of the same job (a resumed send): the
 * first `sentAt`, deadline and count of unique inputs are kept. A job id registered with another size is refused, since
 * its completeness could no longer be judged.
 *
 * @returns the record as stored, and whether it existed before.
 */
export async function registerJob(dynamodb: DynamoDBClient, tableName: string, request: RegisterJobRequest): Promise<{ job: JobRecord; resumed: boolean }> {
  try {
    const { Attributes } = await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.JOB_PREFIX}${request.jobId}` } },
        ConditionExpression: 'attribute_not_exists(#pk) OR #expected = :expected',
        UpdateExpression:
          'SET #jobId = :jobId, #expected = :expected, #unique = if_not_exists(#unique, :unique), #source = :source, #sentAt = if_not_exists(#sentAt, :now), ' +
          '#deadline = if_not_exists(#deadline, :deadline), #status = if_not_exists(#status, :open), #expiresAt = if_not_exists(#expiresAt, :expiresAt)',
        ExpressionAttributeNames: {
          '#pk': CONTROL.PARTITION_KEY,
          '#jobId': JOB.ID,
          '#expected': JOB.EXPECTED,
          '#unique': JOB.UNIQUE,
          '#source': JOB.SOURCE,
          '#sentAt': JOB.SENT_AT,
          '#deadline': JOB.DEADLINE,
          '#status': JOB.STATUS,
          '#expiresAt': CONTROL.TTL,
        },
        ExpressionAttributeValues: {
          ':jobId': { S: request.jobId },
          ':expected': { N: String(request.expected) },
          ':unique': { N: String(request.unique) },
          ':source': { S: 'pipectl' },
          ':now': { N: String(request.now) },
          ':deadline': { N: String(request.now + request.deadlineMs) },
          ':open': { S: JOB_STATUS.OPEN },
          // As the reconciler's own registration: the item expires 30 days after the deadline.
          ':expiresAt': { N: String(Math.floor((request.now + request.deadlineMs) / 1000) + JOB_RETENTION_DAYS * 86_400) },
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const job = toJob(unmarshall(Attributes ?? {}));
    return { job, resumed: job.sentAt !== request.now };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      const existing = await getJob(dynamodb, tableName, request.jobId);
      throw new UsageError(
        `job ${request.jobId} is already registered with ${existing?.expected ?? 'another number of'} messages; this input has ${request.expected}. ` +
          'Give this input its own --job-id (or leave --job-id out: the default id is derived from the content).',
      );
    }
    throw error;
  }
}

export async function getJob(dynamodb: DynamoDBClient, tableName: string, jobId: string): Promise<JobRecord | undefined> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.JOB_PREFIX}${jobId}` } }, ConsistentRead: true }),
  );
  return Item ? toJob(unmarshall(Item)) : undefined;
}

function toJob(item: Record<string, unknown>): JobRecord {
  return {
    jobId: String(item[JOB.ID] ?? String(item[CONTROL.PARTITION_KEY] ?? '').slice(CONTROL.JOB_PREFIX.length)),
    expected: Number(item[JOB.EXPECTED] ?? 0),
    ...(item[JOB.UNIQUE] !== undefined ? { unique: Number(item[JOB.UNIQUE]) } : {}),
    sentAt: Number(item[JOB.SENT_AT] ?? 0),
    ...(item[JOB.DEADLINE] !== undefined ? { deadline: Number(item[JOB.DEADLINE]) } : {}),
    ...(item[JOB.SOURCE] !== undefined ? { source: String(item[JOB.SOURCE]) } : {}),
  };
}
