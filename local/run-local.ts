import { METRIC } from '../lambda/contract';
import { startLocalPipeline, type LocalPipeline, type LocalPipelineOptions } from './local-pipeline';
import { buildReport, type LocalRunReport } from './report';
import { sendBodies, waitForDrain } from './queue-drain';

// Re-exported for the callers that took them from here (bench, pipectl gameday, tests).
export { drainQueue, sendBodies, waitForDrain } from './queue-drain';

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
    await waitForDrain(pipeline, options.drainTimeoutMs ?? defaultDrainTimeoutMs(pipeline, bodies.length));
    const durationMs = Date.now() - started;
    unsubscribe();
    await pipeline.poller.stop();
    return await buildReport(pipeline, bodies, durationMs, invocations);
  } finally {
    await pipeline.stop();
  }
}

/**
 * How long a run waits for the queue to drain: 100 ms a message (at least two minutes), plus, when
 * infrastructure faults can fail whole invocations, every receive a message may need: each failed
 * one costs a visibility timeout before SQS hands the message out again.
 */
export function defaultDrainTimeoutMs(pipeline: LocalPipeline, messages: number): number {
  // A bound, not an expectation: the wait ends when the queue is empty. At 50 ms a message the
  // 2,000-message test run reached it on a contended machine with 401 messages still queued
  // (2026-12-03), and the report, rightly, called that run's invariant broken.
  const base = Math.max(120_000, messages * 100);
  if (!pipeline.boundary) return base;
  const queue = pipeline.stack.queues.find((candidate) => candidate.logicalId === pipeline.stack.eventSource.queueLogicalId);
  const visibilityMs = (queue?.visibilityTimeoutSeconds ?? 0) * 1000 * pipeline.timeScale;
  return base + visibilityMs * (queue?.redrive?.maxReceiveCount ?? 1);
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
