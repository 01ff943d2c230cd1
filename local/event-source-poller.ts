import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Random } from '../lambda/shared/seeded-random';
import type { ExecutionEnvironment, InvocationUsage, InvokeResult } from './lambda-runtime';

/**
 * How long a loop waits for the watcher (below) before it polls on its own: a bound, should a wake
 * ever be missed, not the way messages reach it.
 */
const DEFAULT_WATCHER_FALLBACK_MS = 5000;

export interface EventSourceSettings {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly batchSize: number;
  readonly maxBatchingWindowMs: number;
  readonly maxConcurrency: number;
  readonly reportBatchItemFailures: boolean;
  /** See EventSourcePoller's watcher. @default DEFAULT_WATCHER_FALLBACK_MS (a test sets it long, to see the wake-ups alone) */
  readonly watcherFallbackMs?: number;
}

/**
 * The `redeliver` fault: SQS is at-least-once, and now and then hands one receive of a message to
 * two consumers. A picked message is also put into the batch of another environment's next
 * invocation (with the same receipt handle: fauxqs cannot issue a second one while the first is
 * in flight), while the first invocation may still be processing it.
 */
export interface RedeliveryFault {
  /** The share of received messages to hand out twice, now: 0 outside the fault's `/FROM-TO` window. */
  readonly rate: () => number;
  /** Seeded (`--seed`) so a run is reproducible. */
  readonly random: Random;
  /** Called once per message handed out a second time. */
  readonly onInjected: () => void;
}

/** What one invocation did, for progress and tests. */
export interface InvocationReport {
  readonly records: number;
  readonly failed: number;
  readonly outcome: InvokeResult['kind'];
  /** How long the invocation ran. */
  readonly durationMs: number;
  /** CPU time and peak RSS of the environment (child-process isolation only). */
  readonly usage?: InvocationUsage;
}

/**
 * The SQS event source mapping, as the Lambda service runs it:
 * - up to `maxConcurrency` batches in flight, each in its own execution environment;
 * - a batch is up to `batchSize` messages, gathered for at most the batching window;
 * - with `ReportBatchItemFailures`, messages not listed in `batchItemFailures` are deleted and
 *   the listed ones stay to reappear after their visibility timeout; a response that lists an
 *   unknown or empty id fails the whole batch, as Lambda does;
 * - a handler error or timeout deletes nothing: the whole batch reappears;
 * - the queue's own redrive policy (maxReceiveCount) moves repeat offenders to the DLQ.
 *
 * Written here because no library emulates an event source mapping; the semantics are the ones
 * documented in "Using Lambda with Amazon SQS" (partial batch responses).
 */
export class EventSourcePoller {
  private readonly controller = new AbortController();
  private loops: Promise<void>[] = [];
  private inFlightBatches = 0;
  private paused = false;
  private dropFault?: (message: Message) => boolean;
  /** Copies waiting for another environment (the redeliver fault), with the environment that got the original. */
  private readonly redeliveries: Array<{ readonly message: Message; readonly from: ExecutionEnvironment }> = [];
  /** Messages the drop fault deleted without an invocation. */
  droppedMessages = 0;
  /**
   * While the queue is empty, one loop (the watcher) long-polls it for all of them, and the others
   * wait until it receives something (or a redelivered copy is queued, or the fallback bound
   * passes). Five loops each long-polling an empty queue were most of an idle pipeline's CPU
   * (2026-12-03, side by side: 0.028-0.046 s of CPU per second with five, 0.019-0.030 with one
   * watcher, 0.005 with the poller stopped), and the suite keeps pipelines idle for minutes on
   * scaled clocks. Nothing waits longer for a message: a long poll returns as soon as one is
   * visible, and the loops it wakes receive the rest. Set by an empty receive, cleared by any
   * receive that got messages (the queue is no longer known to be empty).
   */
  private watcher?: ExecutionEnvironment;
  /** The wake-ups of the loops waiting for the watcher. */
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly client: SQSClient,
    private readonly settings: EventSourceSettings,
    private readonly environments: readonly ExecutionEnvironment[],
    private readonly onInvocation: (report: InvocationReport) => void = () => undefined,
    private readonly redelivery?: RedeliveryFault,
  ) {
    if (environments.length < settings.maxConcurrency) throw new Error('one execution environment per concurrent batch is needed');
  }

  start(): void {
    this.loops = Array.from({ length: this.settings.maxConcurrency }, (_, index) => this.loop(this.environments[index] as ExecutionEnvironment));
  }

  /** Batches being processed right now (a redelivered copy still waiting for its invocation counts as one). */
  get inFlight(): number {
    return this.inFlightBatches + (this.redeliveries.length > 0 ? 1 : 0);
  }

  /**
   * Test-only fault: messages the predicate picks are deleted without invoking the function, as a
   * buggy poller or an over-eager filter would lose them. Nothing in the pipeline sees them go;
   * only completeness does (a registered job comes up short), which is what the fault is for.
   * `undefined` turns it off.
   */
  dropMessages(predicate: ((message: Message) => boolean) | undefined): void {
    this.dropFault = predicate;
  }

  /** Stop receiving (like disabling the mapping); batches in flight finish. */
  setPaused(paused: boolean): void {
    this.paused = paused;
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.allSettled(this.loops);
  }

  private async loop(environment: ExecutionEnvironment): Promise<void> {
    const signal = this.controller.signal;
    while (!signal.aborted) {
      if (this.paused) {
        await sleep(50, signal);
        continue;
      }
      let messages: Message[];
      const copies = this.takeRedeliveries(environment);
      if (copies.length === 0 && this.watcher !== undefined && this.watcher !== environment) {
        await sleep(this.settings.watcherFallbackMs ?? DEFAULT_WATCHER_FALLBACK_MS, signal, this.waiting);
        continue;
      }
      if (copies.length > 0 && this.watcher === environment) {
        // Busy with copies, it watches no more: another loop takes over.
        this.watcher = undefined;
        this.wakeWaiting();
      }
      try {
        // A copy is invoked at once, so it runs while the original may still be in flight.
        messages = copies.length > 0 ? copies : await this.gatherBatch(signal);
      } catch (_error) {
        if (signal.aborted) return;
        // The endpoint hiccupped: back off briefly, as the service's pollers do.
        await sleep(200, signal);
        continue;
      }
      if (copies.length === 0) {
        this.noteReceived(environment, messages.length);
        this.pickRedeliveries(messages, environment);
      }
      if (this.dropFault && messages.length > 0) messages = await this.drop(messages, this.dropFault);
      if (messages.length === 0) continue;
      this.inFlightBatches += 1;
      try {
        await this.invoke(environment, messages);
      } finally {
        this.inFlightBatches -= 1;
      }
    }
  }

  private async gatherBatch(signal: AbortSignal): Promise<Message[]> {
    const { batchSize, maxBatchingWindowMs } = this.settings;
    const messages: Message[] = [];
    const windowEnds = Date.now() + maxBatchingWindowMs;
    do {
      const remainingMs = windowEnds - Date.now();
      const response = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.settings.queueUrl,
          MaxNumberOfMessages: Math.min(10, batchSize - messages.length),
          // Long-poll while the batch is empty; once it has messages, only top it up inside the window.
          WaitTimeSeconds: messages.length === 0 ? 1 : 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: signal },
      );
      const received = response.Messages ?? [];
      messages.push(...received);
      if (received.length === 0 && messages.length > 0) {
        if (remainingMs <= 0) break;
        await sleep(Math.min(remainingMs, 20), signal);
      }
      if (messages.length === 0) return messages;
    } while (messages.length < batchSize && Date.now() < windowEnds && !signal.aborted);
    return messages;
  }

  private async invoke(environment: ExecutionEnvironment, messages: readonly Message[]): Promise<void> {
    const event: SQSEvent = { Records: messages.map((message) => toSqsRecord(message, this.settings.queueArn, this.settings.region)) };
    const result = await environment.invoke(event);
    const ids = new Set(event.Records.map((record) => record.messageId));
    let toDelete: Message[] = [];
    if (result.kind === 'ok') {
      const failures = this.settings.reportBatchItemFailures ? parseBatchFailures(result.result, ids) : new Set<string>();
      toDelete = failures === 'whole-batch' ? [] : messages.filter((message) => !failures.has(message.MessageId as string));
    }
    if (toDelete.length > 0) await this.delete(toDelete);
    this.onInvocation({
      records: messages.length,
      failed: messages.length - toDelete.length,
      outcome: result.kind,
      durationMs: result.durationMs,
      usage: result.kind === 'timeout' ? undefined : result.usage,
    });
  }

  /** An empty receive makes its loop the watcher, if there is none; a full one ends the watch and wakes the waiting loops. */
  private noteReceived(environment: ExecutionEnvironment, received: number): void {
    if (received === 0) {
      this.watcher ??= environment;
      return;
    }
    this.watcher = undefined;
    this.wakeWaiting();
  }

  private wakeWaiting(): void {
    for (const wake of [...this.waiting]) wake();
  }

  /** The redeliver fault's draw: copies of the picked messages wait for another environment. */
  private pickRedeliveries(messages: readonly Message[], from: ExecutionEnvironment): void {
    if (!this.redelivery) return;
    // One rate for the batch, as it was received; drawn for every message even outside the window, so the seeded stream stays put.
    const rate = this.redelivery.rate();
    for (const message of messages) {
      if (this.redelivery.random() >= rate) continue;
      this.redeliveries.push({ message, from });
      this.redelivery.onInjected();
    }
    // A waiting loop takes the copies: the one that got the originals may not.
    if (this.redeliveries.length > 0) this.wakeWaiting();
  }

  /** Copies for this environment: never one whose original it got itself (unless it is the only one). */
  private takeRedeliveries(environment: ExecutionEnvironment): Message[] {
    const taken: Message[] = [];
    for (let index = 0; index < this.redeliveries.length && taken.length < this.settings.batchSize; ) {
      const entry = this.redeliveries[index] as { message: Message; from: ExecutionEnvironment };
      const duplicate = taken.some((message) => message.MessageId === entry.message.MessageId);
      if (!duplicate && (entry.from !== environment || this.settings.maxConcurrency === 1)) {
        taken.push(entry.message);
        this.redeliveries.splice(index, 1);
      } else index += 1;
    }
    return taken;
  }

  /** The drop fault: deletes the picked messages, returns the others. */
  private async drop(messages: readonly Message[], pick: (message: Message) => boolean): Promise<Message[]> {
    const dropped = messages.filter(pick);
    if (dropped.length === 0) return [...messages];
    await this.delete(dropped);
    this.droppedMessages += dropped.length;
    return messages.filter((message) => !dropped.includes(message));
  }

  private async delete(messages: readonly Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += 10) {
      const chunk = messages.slice(start, start + 10);
      await this.client
        .send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.settings.queueUrl,
            Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
          }),
        )
        // A failed delete leaves the message to reappear; the ledger makes the repeat harmless.
        .catch(() => undefined);
    }
  }
}

/** The event record Lambda builds from a received SQS message. */
export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId as string,
    receiptHandle: message.ReceiptHandle as string,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        { dataType: value.DataType ?? 'String', stringValue: value.StringValue, stringListValues: [], binaryListValues: [] },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** The ids a partial batch response marks as failed, or 'whole-batch' when the response is malformed. */
export function parseBatchFailures(result: unknown, ids: ReadonlySet<string>): Set<string> | 'whole-batch' {
  if (result === null || result === undefined) return new Set();
  if (typeof result !== 'object') return 'whole-batch';
  const failures = (result as Partial<SQSBatchResponse>).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'whole-batch';
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return 'whole-batch';
    failed.add(id);
  }
  return failed;
}

/** Waits `ms`, or less when the signal aborts or one of `wakers` is called (it is in the set meanwhile). */
function sleep(ms: number, signal: AbortSignal, wakers?: Set<() => void>): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      wakers?.delete(done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
    wakers?.add(done);
  });
}
