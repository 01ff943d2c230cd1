import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

/*
 * Sending a workload and waiting for the input queue to drain: what a local run, the drift
 * reference run, the benchmark and the tests share. A leaf module (the SDK only), so that none of
 * them has to import the pipeline to get it.
 */

/** Batches of ten (the SendMessageBatch maximum), this many in flight. */
const SEND_CONCURRENCY = 4;

/** What the drain wait reads of a local pipeline. */
export interface DrainablePipeline {
  readonly sqs: SQSClient;
  readonly resources: { readonly inputQueueUrl: string };
  readonly poller: { readonly inFlight: number };
}

/** Sends with SendMessageBatch in tens, a few batches at a time; any entry that fails is an error. */
export async function sendBodies(sqs: SQSClient, queueUrl: string, bodies: readonly string[], onSent?: (sent: number) => void): Promise<void> {
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const start = next;
      next += 10;
      const chunk = bodies.slice(start, start + 10);
      const response = await sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((body, index) => ({ Id: String(index), MessageBody: body })) }),
      );
      if (response.Failed && response.Failed.length > 0) {
        const first = response.Failed[0];
        throw new Error(`SQS refused ${response.Failed.length} message(s), e.g. line ${start + Number(first?.Id) + 1}: ${first?.Code} ${first?.Message}`);
      }
      sent += chunk.length;
      onSent?.(sent);
    }
  };
  await Promise.all(Array.from({ length: SEND_CONCURRENCY }, worker));
}

/**
 * Waits until the input queue holds nothing (visible, in flight or delayed) and no batch is being
 * processed, twice in a row a moment apart (a batch can be between receive and invoke).
 */
export function waitForDrain(pipeline: DrainablePipeline, timeoutMs: number): Promise<boolean> {
  return drainQueue(pipeline.sqs, pipeline.resources.inputQueueUrl, pipeline.poller, timeoutMs);
}

/** The same wait for any queue and poller (the benchmark's baseline has no LocalPipeline). */
export async function drainQueue(sqs: SQSClient, queueUrl: string, poller: { readonly inFlight: number }, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quietChecks = 0;
  while (Date.now() < deadline) {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    const depth = Object.values(Attributes).reduce((total, value) => total + Number(value), 0);
    quietChecks = depth === 0 && poller.inFlight === 0 ? quietChecks + 1 : 0;
    if (quietChecks >= 2) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
