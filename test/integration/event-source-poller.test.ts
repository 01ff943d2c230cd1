/**
 * The local event source on an empty queue (local/event-source-poller.ts): one loop, the watcher,
 * long-polls for all five and wakes the others when it receives. The poller runs against the
 * embedded SQS; the execution environments are stand-ins that record which of them ran a batch
 * (what is tested is the poller, not the processor). The other loops' own fallback is set far
 * beyond the test, so only a wake-up can bring them in; the bounds are one-sided, so a slow
 * machine (fewer receives, longer batches) cannot fail them.
 */
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulators, LOCAL_CREDENTIALS, startEmulators } from '../../local/emulators';
import { EventSourcePoller } from '../../local/event-source-poller';
import type { ExecutionEnvironment, InvokeResult } from '../../local/lambda-runtime';
import { drainQueue, sendBodies } from '../../local/queue-drain';

const CONCURRENCY = 5;

describe('the local event source on an empty queue', () => {
  let emulators: Emulators;
  let sqs: SQSClient;
  let queueUrl: string;
  let poller: EventSourcePoller;
  const batchesBy = new Map<number, number>();

  beforeAll(async () => {
    emulators = await startEmulators();
    sqs = new SQSClient({ region: emulators.region, credentials: LOCAL_CREDENTIALS, endpoint: emulators.sqsEndpoint });
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'poller-test' }))).QueueUrl as string;
    // Stand-ins: each batch takes 300 ms, so one environment alone needs its batches one after another.
    const environments = Array.from({ length: CONCURRENCY }, (_, index) => ({
      invoke: async (_event: SQSEvent): Promise<InvokeResult> => {
        batchesBy.set(index, (batchesBy.get(index) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 300));
        return { kind: 'ok', result: { batchItemFailures: [] }, durationMs: 300 };
      },
    })) as unknown as ExecutionEnvironment[];
    poller = new EventSourcePoller(
      sqs,
      {
        queueUrl,
        queueArn: 'arn:aws:sqs:us-east-1:000000000000:poller-test',
        region: emulators.region,
        batchSize: 10,
        maxBatchingWindowMs: 0,
        maxConcurrency: CONCURRENCY,
        reportBatchItemFailures: true,
        watcherFallbackMs: 600_000,
      },
      environments,
    );
    poller.start();
  });
  afterAll(async () => {
    await poller.stop();
    sqs.destroy();
    await emulators.stop();
  });

  const receives = () => emulators.counter.byOperation.get('sqs.ReceiveMessage') ?? 0;

  it('makes about one receive a second, not one per loop', async () => {
    // Prepare: past the first receives, when every loop polls once
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const before = receives();

    // Act: 5 s idle
    await new Promise((resolve) => setTimeout(resolve, 5000));

    // Assess: the watcher's 1 s long polls, about 5; five loops polling each would make about 25
    expect(receives() - before).toBeLessThanOrEqual(7);
  }, 30_000);

  it('wakes the other loops when the watcher receives: a burst is spread over several environments', async () => {
    // Act: 50 messages, five batches of ten
    await sendBodies(
      sqs,
      queueUrl,
      Array.from({ length: 50 }, (_, index) => `message ${index}`),
    );
    const drained = await drainQueue(sqs, queueUrl, poller, 60_000);

    // Assess: every message was taken and deleted, and more than the watcher ran a batch (only a
    // wake-up brings the others in: their fallback is ten minutes away)
    expect(drained).toBe(true);
    expect(batchesBy.size).toBeGreaterThanOrEqual(2);
  }, 90_000);
});
