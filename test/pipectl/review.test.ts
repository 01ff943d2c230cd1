/**
 * `pipectl review` against real emulated endpoints (fauxqs, dynalite over HTTP): the ledger's
 * IN_REVIEW items are what is in review; the review queue only notifies. Looking never consumes:
 * the review queue has the deployed redrive policy (maxReceiveCount 5), and more than five lists
 * must leave every notification where it was.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEDGER, LEDGER_STATUS, MESSAGE_ATTRIBUTE } from '../../lambda/contract';
import { DynamoDbLedgerStore } from '../../lambda/ledger/dynamodb-ledger-store';
import { inputKey } from '../../lambda/processor/input-key';
import { type Emulators, LOCAL_CREDENTIALS, startEmulators } from '../../local/emulators';
import { getLedgerItem } from '../../pipectl/ledger-reader';
import { writeServeFile } from '../../pipectl/local-endpoints';
import { listReviews, resolveReview } from '../../pipectl/review';
import { localTarget, type PipelineTarget } from '../../pipectl/target';

let emulators: Emulators;
let target: PipelineTarget;
let sqs: SQSClient;
let dynamodb: DynamoDBClient;
let reviewQueueUrl: string;
let reviewDlqUrl: string;
const scratch = mkdtempSync(join(tmpdir(), 'pipectl-review-'));
const LEDGER_TABLE = 'ledger';

beforeAll(async () => {
  emulators = await startEmulators();
  const base = { region: emulators.region, credentials: LOCAL_CREDENTIALS };
  sqs = new SQSClient({ ...base, endpoint: emulators.sqsEndpoint, useQueueUrlAsEndpoint: false });
  dynamodb = new DynamoDBClient({ ...base, endpoint: emulators.dynamodbEndpoint });
  reviewDlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'review-dlq' }))).QueueUrl as string;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: reviewDlqUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  // The review queue as lib/constructs/work-queue.ts deploys it: redrive after 5 receives.
  reviewQueueUrl = (
    await sqs.send(
      new CreateQueueCommand({ QueueName: 'review', Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) } }),
    )
  ).QueueUrl as string;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: LEDGER_TABLE,
      KeySchema: [{ AttributeName: LEDGER.PARTITION_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: LEDGER.PARTITION_KEY, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const serveFile = join(scratch, 'serve.json');
  writeServeFile(
    {
      region: emulators.region,
      stage: 'dev',
      sqsEndpoint: emulators.sqsEndpoint,
      dynamodbEndpoint: emulators.dynamodbEndpoint,
      queues: { input: reviewQueueUrl, inputDlq: reviewDlqUrl, review: reviewQueueUrl, reviewDlq: reviewDlqUrl },
      tables: { ledger: LEDGER_TABLE, control: LEDGER_TABLE },
      functionName: 'processor',
      eventSourceMappingId: 'esm',
    },
    serveFile,
  );
  target = localTarget(serveFile);
}, 60_000);

afterAll(async () => {
  target?.destroy();
  sqs?.destroy();
  dynamodb?.destroy();
  await emulators?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Escalates one input as the processor does: claim, review notification, IN_REVIEW. */
async function escalate(subject: string, notify = true): Promise<{ key: string; input: object }> {
  const input = { subject, body: `About ${subject}.` };
  const key = inputKey('ticket-triage', '1', input);
  const ledger = new DynamoDbLedgerStore({ client: dynamodb, tableName: LEDGER_TABLE, ttlDays: 30 });
  const now = Date.now();
  await ledger.claim({ key, task: 'ticket-triage', taskVersion: '1', messageId: `m-${subject}`, claimToken: 't', leaseUntil: now + 60_000, now });
  if (notify) {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: reviewQueueUrl,
        MessageBody: JSON.stringify({ key, task: 'ticket-triage', taskVersion: '1', input, reasons: ['every tier failed'] }),
        MessageAttributes: { [MESSAGE_ATTRIBUTE.INPUT_HASH]: { DataType: 'String', StringValue: key } },
      }),
    );
  }
  await ledger.markInReview({ key, claimToken: 't', reasons: ['every tier failed'], now });
  return { key, input };
}

async function visible(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

describe('review list', () => {
  it('eight lists in a row leave the notification on the review queue and the item listed', async () => {
    const { key } = await escalate('Listed often');
    for (let run = 0; run < 8; run += 1) {
      const { items } = await listReviews(target);
      expect(items.map((item) => item.key)).toContain(key);
    }
    expect(await visible(reviewDlqUrl)).toBe(0);
    expect(await visible(reviewQueueUrl)).toBe(1);
  });

  it('lists an IN_REVIEW item whose notification is gone (the ledger is the source of truth)', async () => {
    const { key } = await escalate('Notification lost', false);
    const { items } = await listReviews(target);
    expect(items.find((item) => item.key === key)).toMatchObject({
      key,
      task: 'ticket-triage',
      reasons: ['every tier failed'],
      ledgerStatus: LEDGER_STATUS.IN_REVIEW,
    });
  });
});

describe('review resolve', () => {
  it('completes the ledger item (only from IN_REVIEW), removes its notification, and leaves the others', async () => {
    const { key } = await escalate('To resolve');
    const before = await visible(reviewQueueUrl);
    const result = { category: 'other', priority: 'low', confidence: 1, summary: 'Answered by support.' };
    const outcome = await resolveReview(target, key, result, 'on-call');
    expect(outcome).toEqual({ outcome: 'resolved', messagesDeleted: 1 });
    expect(await getLedgerItem(dynamodb, LEDGER_TABLE, key)).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'human', resolvedBy: 'on-call' });
    expect(await visible(reviewQueueUrl)).toBe(before - 1);
    expect((await listReviews(target)).items.map((item) => item.key)).not.toContain(key);
    // Fenced: a second resolve changes nothing and says so.
    expect((await resolveReview(target, key, { ...result, summary: 'other' }, 'someone else')).outcome).toBe('already-resolved');
    expect(await getLedgerItem(dynamodb, LEDGER_TABLE, key)).toMatchObject({ resolvedBy: 'on-call', result });
  });

  it('resolves an item whose notification is gone', async () => {
    const { key } = await escalate('Resolve without notification', false);
    const outcome = await resolveReview(target, key, { category: 'other', priority: 'low', confidence: 1, summary: 'x' }, 'on-call');
    expect(outcome).toEqual({ outcome: 'resolved', messagesDeleted: 0 });
  });
});
