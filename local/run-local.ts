import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { METRIC } from '../lambda/contract';
import { startLocalPipeline, type LocalPipeline, type LocalPipelineOptions } from './local-pipeline';
import { buildReport, type LocalRunReport } from './report';

/** Batches of ten (the SendMessageBatch maximum), this many in flight. */
const SEND_CONCURRENCY = 4;

export interface RunOptions extends LocalPipelineOptions {
  /** Give up waiting for the queue to drain after this long; the report then shows what is left. */
  readonly drainTimeoutMs?: number;
  /** Progress callback: records the processor finished with a terminal outcome so far. */
  readonly onProgress?: (event: { readonly phase: 'sending' | 'processing'; readonly done: number; readonly total: number }) => void;
}

/**
 * One local run: start the pipeline, send the bodies, wait until the input queue is empty and no
 * batch is in flight, build the report from the emulators' state, stop everything.
 */
export async function runLocal(bodies: readonly string[], options: RunOptions = {}): Promise<LocalRunReport> {
  let invocations = 0;
  const pipeline = await startLocalPipeline({
    ...options,
    onInvocation: (report) => {
      invocations += 1;
      options.onInvocation?.(report);
    },
  });
  try {
    const started = Date.now();
    // The counts that matter are the pipeline's work, not the setup's CreateQueue/CreateTable.
    pipeline.emulators.counter.reset();
    const unsubscribe = trackProgress(pipeline, bodies.length, options);
    await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies, (done) => options.onProgress?.({ phase: 'sending', done, total: bodies.length }));
    await waitForDrain(pipeline, options.drainTimeoutMs ?? Math.max(60_000, bodies.length * 50));
    const durationMs = Date.now() - started;
    unsubscribe();
    await pipeline.poller.stop();
    return await buildReport(pipeline, bodies, durationMs, invocations);
  } finally {
    await pipeline.stop();
  }
}

/** Outcomes that end a record's processing (a failed record comes back, so it does not count). */
const TERMINAL_METRICS = new Set<string>([METRIC.RECORDS_COMPLETED, METRIC.DUPLICATES_SKIPPED, METRIC.RECORDS_REJECTED, METRIC.RECORDS_ESCALATED]);

function trackProgress(pipeline: LocalPipeline, total: number, options: RunOptions): () => void {
  if (!options.onProgress) return () => undefined;
  let done = 0;
  return pipeline.logs.onMetric((name, value) => {
    if (!TERMINAL_METRICS.has(name)) return;
    done += value;
    options.onProgress?.({ phase: 'processing', done: Math.min(done, total), total });
  });
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
export function waitForDrain(pipeline: LocalPipeline, timeoutMs: number): Promise<boolean> {
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
