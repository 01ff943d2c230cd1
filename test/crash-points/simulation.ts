/**
 * The crash-point exploration's world: a simulated SQS queue (visibility, receive counts, redrive to
 * the DLQ past maxReceiveCount, double delivery), the in-memory ledger, a queue gateway onto the
 * simulated queues, a scripted model, and a crash injector that kills the "execution environment"
 * just before or just after its k-th side effect. No timers, no network: the clock is a number the
 * simulation moves.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { BREAKER_STATE, LEDGER_STATUS, MESSAGE_ATTRIBUTE } from '../../lambda/contract';
import { DependencyError, ModelCallError } from '../../lambda/errors/pipeline-errors';
import type { LedgerStore } from '../../lambda/ledger/ledger-store';
import type { ModelProvider, ModelRequest, ModelResponse } from '../../lambda/model/model-provider';
import { convergenceOf } from '../../lambda/monitors/completeness';
import { BatchProcessor } from '../../lambda/processor/batch-processor';
import { keyOfMessageBody } from '../../lambda/processor/message-parser';
import type { QueueCallOptions, QueueGateway, VisibilityChange } from '../../lambda/processor/queue-gateway';
import { readRuntimeConfig, type RuntimeConfig } from '../../lambda/processor/runtime-config';
import { HourlyBudget } from '../../lambda/resilience/budget';
import { CLOSED_SNAPSHOT } from '../../lambda/resilience/breaker-state';
import type { DynamoDbBreakerStore } from '../../lambda/resilience/dynamodb-breaker-store';
import type { KeyCallCounter } from '../../lambda/resilience/key-call-counter';
import { RetryPolicy } from '../../lambda/resilience/retry-policy';
import { SharedBreaker } from '../../lambda/resilience/shared-breaker';
import { InMemoryLedgerStore } from '../support/in-memory-ledger';

/** The environment died here: thrown by every side effect from the crash point on. */
export class CrashError extends Error {
  override readonly name = 'CrashError';
}

/** Where, relative to side effect number `index` (0-based, in the order they are attempted), the crash happens. */
export interface CrashPoint {
  readonly index: number;
  readonly when: 'before' | 'after';
}

/** The side effects one invocation attempted, in order, with the crash point if it was reached. */
export class CrashInjector {
  dead = false;
  readonly effects: string[] = [];

  constructor(private readonly point?: CrashPoint) {}

  /** Runs one side effect, or dies before or after it. */
  async effect<T>(name: string, run: () => Promise<T>): Promise<T> {
    if (this.dead) throw new CrashError(`dead before ${name}`);
    const index = this.effects.length;
    this.effects.push(name);
    if (this.point?.index === index && this.point.when === 'before') {
      this.dead = true;
      throw new CrashError(`crash before ${name}`);
    }
    const result = await run();
    if (this.point?.index === index && this.point.when === 'after') {
      this.dead = true;
      throw new CrashError(`crash after ${name}`);
    }
    return result;
  }

  /** Whether the crash point was reached (false: the run had fewer side effects than `index`). */
  get crashed(): boolean {
    return this.dead;
  }
}

/** One message in the simulated queue. */
interface QueuedMessage {
  readonly id: string;
  readonly body: string;
  receiveCount: number;
  visibleAt: number;
  receipt?: string;
  receivedAt?: number;
  readonly firstSentAt: number;
}

/** A copy on the DLQ or the review queue. */
export interface SentCopy {
  readonly key: string;
  readonly body: string;
  /** `redrive` when SQS moved it, `processor` when the processor sent it. */
  readonly by: 'redrive' | 'processor';
}

/** SQS as the event source sees it: standard queue, visibility, receive counts, redrive. */
export class SimulatedQueue {
  readonly messages = new Map<string, QueuedMessage>();
  readonly dlq: SentCopy[] = [];
  readonly review: SentCopy[] = [];
  private nextId = 0;

  constructor(
    private readonly clock: Clock,
    readonly visibilityTimeoutSeconds: number,
    readonly maxReceiveCount: number,
  ) {}

  send(body: string): string {
    const id = `m-${(this.nextId += 1)}`;
    this.messages.set(id, { id, body, receiveCount: 0, visibleAt: this.clock.now, firstSentAt: this.clock.now });
    return id;
  }

  /** Visible messages (up to `max`), each received once more; one past maxReceiveCount goes to the DLQ instead. */
  receive(max: number): SQSRecord[] {
    const records: SQSRecord[] = [];
    for (const message of [...this.messages.values()].sort((a, b) => a.visibleAt - b.visibleAt)) {
      if (records.length >= max) break;
      if (message.visibleAt > this.clock.now) continue;
      if (message.receiveCount >= this.maxReceiveCount) {
        this.messages.delete(message.id);
        this.dlq.push({ key: keyOfMessageBody(message.body), body: message.body, by: 'redrive' });
        continue;
      }
      records.push(this.deliver(message));
    }
    return records;
  }

  /** SQS's at-least-once: the same message handed out again while a copy is in flight. */
  deliverAgain(messageId: string): SQSRecord | undefined {
    const message = this.messages.get(messageId);
    return message ? this.deliver(message, false) : undefined;
  }

  deleteByReceipt(receipt: string): void {
    for (const message of this.messages.values()) if (receipt.startsWith(`${message.id}#`)) this.messages.delete(message.id);
  }

  /** Refused like SQS refuses it: past 12 hours counted from the receive. */
  changeVisibility(receipt: string, seconds: number): void {
    for (const message of this.messages.values()) {
      if (!receipt.startsWith(`${message.id}#`)) continue;
      const sinceReceive = (this.clock.now - (message.receivedAt ?? this.clock.now)) / 1000;
      if (!Number.isInteger(seconds) || seconds < 0 || sinceReceive + seconds > 43_200)
        throw new Error(`InvalidParameterValue: visibility ${seconds} s, ${sinceReceive} s after the receive`);
      message.visibleAt = this.clock.now + seconds * 1000;
    }
  }

  /** When the next hidden message becomes visible (undefined: the queue is empty). */
  nextVisibleAt(): number | undefined {
    const times = [...this.messages.values()].map((message) => message.visibleAt);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  private deliver(message: QueuedMessage, count = true): SQSRecord {
    if (count) message.receiveCount += 1;
    message.visibleAt = this.clock.now + this.visibilityTimeoutSeconds * 1000;
    message.receivedAt = this.clock.now;
    message.receipt = `${message.id}#${message.receiveCount}#${this.clock.now}#${Math.random()}`;
    return {
      messageId: message.id,
      receiptHandle: message.receipt,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(Math.max(1, message.receiveCount)),
        SentTimestamp: String(message.firstSentAt),
        SenderId: 'sim',
        ApproximateFirstReceiveTimestamp: String(message.firstSentAt),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:input',
      awsRegion: 'us-east-1',
    };
  }
}

/** The simulation's time (epoch ms), moved only by the simulation. */
export class Clock {
  constructor(public now: number) {}
}

/** What the model does: per model id, per call. */
export type ModelScript = (request: ModelRequest) => ModelResponse | ModelCallError;

export const VALID_ANSWER = JSON.stringify({ category: 'billing', priority: 'high', confidence: 0.9, summary: 'A customer was charged twice.' });

/** A scripted model that counts its calls per key (the prompt carries the input). */
export class ScriptedModel implements ModelProvider {
  readonly name = 'scripted';
  calls = 0;
  /** Set by the harness for the invocation in progress: dead environments make no calls. */
  injector?: CrashInjector;

  constructor(private readonly script: ModelScript) {}

  async complete(request: ModelRequest): Promise<ModelResponse> {
    if (this.injector?.dead) throw new CrashError('dead: no model call');
    this.calls += 1;
    const outcome = this.script(request);
    if (outcome instanceof ModelCallError) throw outcome;
    return outcome;
  }
}

/** The ledger with every write as a side effect of the current invocation. */
function crashingLedger(ledger: LedgerStore, injector: () => CrashInjector, completeFails = false): LedgerStore {
  const wrap =
    <A, R>(name: string, write: (request: A) => Promise<R>) =>
    (request: A) =>
      injector().effect(`ledger.${name}`, () => write.call(ledger, request));
  return {
    claim: wrap('claim', ledger.claim),
    observeReceive: wrap('observeReceive', ledger.observeReceive),
    complete: completeFails
      ? wrap('complete', async () => {
          throw new DependencyError('dynamodb', 'complete failed: InternalServerError');
        })
      : wrap('complete', ledger.complete),
    completeUnclaimed: completeFails
      ? wrap('completeUnclaimed', async () => {
          throw new DependencyError('dynamodb', 'completeUnclaimed failed: InternalServerError');
        })
      : wrap('completeUnclaimed', ledger.completeUnclaimed),
    recordFailure: wrap('recordFailure', ledger.recordFailure),
    recordDeadLetter: wrap('recordDeadLetter', ledger.recordDeadLetter),
    recordRejection: wrap('recordRejection', ledger.recordRejection),
    markInReview: wrap('markInReview', ledger.markInReview),
    settleOutOfReceives: wrap('settleOutOfReceives', ledger.settleOutOfReceives),
  };
}

/** The queue gateway onto the simulated queues, every call a side effect of the current invocation. */
function crashingQueues(queue: SimulatedQueue, injector: () => CrashInjector): QueueGateway {
  return {
    deadLetter: (body: string, attributes: Readonly<Record<string, string>>, _options?: QueueCallOptions) =>
      injector().effect('sqs.deadLetter', async () => {
        queue.dlq.push({ key: attributes[MESSAGE_ATTRIBUTE.INPUT_HASH] ?? keyOfMessageBody(body), body, by: 'processor' });
      }),
    escalate: (body: string, attributes: Readonly<Record<string, string>>, _options?: QueueCallOptions) =>
      injector().effect('sqs.escalate', async () => {
        queue.review.push({ key: attributes[MESSAGE_ATTRIBUTE.INPUT_HASH] ?? '', body, by: 'processor' });
      }),
    // One side effect for the batch's changes, as the processor sends them (ChangeMessageVisibilityBatch).
    delayMany: (entries: readonly VisibilityChange[], _options?: QueueCallOptions) =>
      injector().effect('sqs.changeVisibility', async () => {
        const failed = new Set<string>();
        for (const entry of entries) {
          try {
            queue.changeVisibility(entry.receiptHandle, entry.seconds);
          } catch {
            failed.add(entry.receiptHandle); // as SQS reports a failed entry of a batch
          }
        }
        return failed;
      }),
    // A stopped task's copy (runtime switches); the crash paths here run with no switch set, so a
    // call is a side effect like any other send.
    requeue: (body: string, _delaySeconds: number, _options?: QueueCallOptions) =>
      injector().effect('sqs.requeue', async () => {
        queue.send(body);
      }),
  };
}

/** Options of a {@link Simulation}. */
export interface SimulationOptions {
  readonly model: ModelScript;
  /** Extra processor environment (e.g. TASK_POLICIES). */
  readonly environment?: Readonly<Record<string, string>>;
  /** The function timeout, ms. @default 30_000 */
  readonly functionTimeoutMs?: number;
  /** Time left when an invocation starts (a slow start, a long batching window). @default functionTimeoutMs */
  readonly remainingMs?: number;
  /** Every `complete` fails with a DynamoDB error (not a crash): the record fails on every receive. */
  readonly completeFails?: boolean;
  /** The breakers' shared state. @default a store that keeps every breaker closed */
  readonly breakerStore?: DynamoDbBreakerStore;
  /** An outage: every model's breaker (or those named) is open for the whole run (each read finds a cooldown that ends a minute later). */
  readonly breakersOpen?: boolean | readonly string[];
}

const NO_LOG = {
  info() {},
  warn(...a: unknown[]) {
    if (process.env.SIM_DEBUG) console.log(...a);
  },
  error() {},
  debug() {},
} as unknown as Logger;
const NO_METRICS = {
  addMetric() {},
  addDimensions() {},
  addDimension() {},
  publishStoredMetrics() {},
  singleMetric() {
    return NO_METRICS;
  },
} as unknown as Metrics;

/** A breaker store that keeps the breaker closed and writes nothing (breakers are not this suite's subject). */
const CLOSED_BREAKER_STORE = {
  read: async () => CLOSED_SNAPSHOT,
  record: async () => CLOSED_SNAPSHOT,
  open: async () => false,
  takeProbe: async () => undefined,
  closeAfterProbe: async () => undefined,
  reopenAfterProbe: async () => undefined,
  releaseProbe: async () => undefined,
} as unknown as DynamoDbBreakerStore;

/** The world of one exploration run. */
export class Simulation {
  readonly clock = new Clock(Date.UTC(2026, 11, 2, 12));
  readonly ledger = new InMemoryLedgerStore();
  readonly queue: SimulatedQueue;
  readonly model: ScriptedModel;
  readonly config: RuntimeConfig;
  readonly functionTimeoutMs: number;
  readonly remainingMs: number;
  private readonly breakerStore: DynamoDbBreakerStore;
  private readonly completeFails: boolean;
  /** The scenario's key: model calls are counted against it. */
  trackedKey = '';
  /** Model calls in all, after the key's first final status, and the most in one invocation. */
  modelCalls = 0;
  callsAfterFinal = 0;
  maxCallsInOneInvocation = 0;
  private readonly keyCalls = new Map<string, number>();
  invocations = 0;

  constructor(options: SimulationOptions) {
    this.functionTimeoutMs = options.functionTimeoutMs ?? 30_000;
    this.remainingMs = options.remainingMs ?? this.functionTimeoutMs;
    this.breakerStore = options.breakersOpen ? this.openBreakerStore(options.breakersOpen) : (options.breakerStore ?? CLOSED_BREAKER_STORE);
    this.completeFails = options.completeFails ?? false;
    this.config = readRuntimeConfig({
      PIPELINE_STAGE: 'sim',
      LEDGER_TABLE_NAME: 'ledger',
      CONTROL_TABLE_NAME: 'control',
      INPUT_QUEUE_URL: 'https://sqs.local/input',
      INPUT_DLQ_URL: 'https://sqs.local/dlq',
      REVIEW_QUEUE_URL: 'https://sqs.local/review',
      PRIMARY_MODEL_ID: 'sim-primary',
      SECONDARY_MODEL_ID: 'sim-secondary',
      RETRY_MAX_ATTEMPTS: '1',
      MODEL_CALL_TIMEOUT_MS: '5000',
      ...options.environment,
    });
    this.queue = new SimulatedQueue(this.clock, (6 * this.functionTimeoutMs) / 1000, this.config.maxReceiveCount);
    this.model = new ScriptedModel((request) => {
      this.modelCalls += 1;
      const status = this.finalStatus(this.trackedKey);
      // A final status the processor never leaves (DEAD_LETTERED may be claimed again by a re-send).
      if (status && status !== LEDGER_STATUS.DEAD_LETTERED) this.callsAfterFinal += 1;
      return options.model(request);
    });
  }

  /** A breaker store whose every read finds the breaker open, its cooldown ending a minute after the read (no probe is ever due). */
  private openBreakerStore(which: true | readonly string[]): DynamoDbBreakerStore {
    const open = async (modelId: string) =>
      which === true || which.includes(modelId)
        ? { ...CLOSED_SNAPSHOT, state: BREAKER_STATE.OPEN, openUntil: this.clock.now + 60_000, openCount: 1 }
        : CLOSED_SNAPSHOT;
    return { ...CLOSED_BREAKER_STORE, read: open, record: open } as unknown as DynamoDbBreakerStore;
  }

  /** The key's final status in the ledger, if it has one (COMPLETED, IN_REVIEW, REJECTED, DEAD_LETTERED). */
  finalStatus(key: string): string | undefined {
    const status = this.ledger.items.get(key)?.status;
    return status && status !== LEDGER_STATUS.IN_PROGRESS && status !== LEDGER_STATUS.FAILED ? status : undefined;
  }

  /** A fresh execution environment (no warm-instance memory) with its own injector. */
  private environment(injector: CrashInjector): BatchProcessor {
    const now = () => this.clock.now;
    // One breaker per model for the life of the environment, as the handler keeps them.
    const breakers = new Map<string, SharedBreaker>();
    const breakerFor = (modelId: string): SharedBreaker => {
      let breaker = breakers.get(modelId);
      if (!breaker) {
        const settings = {
          failureThreshold: 0,
          failureRatePercent: 50,
          minCalls: 1000,
          windowMs: 60_000,
          cooldownMs: 30_000,
          cacheMs: 0,
          probeLeaseMs: 10_000,
        };
        breaker = new SharedBreaker(modelId, this.breakerStore, settings, {}, now);
        breakers.set(modelId, breaker);
      }
      return breaker;
    };
    return new BatchProcessor({
      config: this.config,
      ledger: crashingLedger(this.ledger, () => injector, this.completeFails),
      queues: crashingQueues(this.queue, () => injector),
      provider: this.model,
      logger: NO_LOG,
      metrics: NO_METRICS,
      breakerFor,
      budget: new HourlyBudget({ send: async () => ({}) } as unknown as DynamoDBClient, 'control', { tokensPerHour: 0, usdPerHour: 0 }, now),
      retryPolicy: new RetryPolicy({ maxAttempts: 1, callTimeoutMs: 5000, now, sleep: async () => undefined }),
      keyCalls: {
        read: async (key: string) => this.keyCalls.get(key) ?? 0,
        add: async (key: string, calls: number) => {
          this.keyCalls.set(key, (this.keyCalls.get(key) ?? 0) + calls);
        },
      } as unknown as KeyCallCounter,
      now,
      random: () => 0.5,
    });
  }

  /**
   * One invocation on `records`, crashing at `point` (if it is reached). The batch response is the
   * last side effect: a dead environment's response never reaches the event source, so nothing of
   * its batch is deleted and every message comes back after its visibility timeout.
   */
  async invoke(records: readonly SQSRecord[], point?: CrashPoint): Promise<CrashInjector> {
    const injector = new CrashInjector(point);
    this.invocations += 1;
    this.model.injector = injector;
    const processor = this.environment(injector);
    const before = this.modelCalls;
    let response: SQSBatchResponse | undefined;
    try {
      response = await processor.process(
        { Records: [...records] },
        { getRemainingTimeInMillis: () => this.remainingMs, awsRequestId: `inv-${this.invocations}` },
      );
    } catch (error) {
      if (!(error instanceof CrashError) && !injector.dead) throw error;
    }
    this.maxCallsInOneInvocation = Math.max(this.maxCallsInOneInvocation, this.modelCalls - before);
    if (injector.dead || !response) return injector;
    const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    await injector
      .effect('batch-response', async () => {
        for (const record of records) if (!failed.has(record.messageId)) this.queue.deleteByReceipt(record.receiptHandle);
      })
      .catch((error: unknown) => {
        if (!(error instanceof CrashError)) throw error;
      });
    return injector;
  }

  /**
   * The reconciler's abandon threshold here: a message whose receives all die uses them up within
   * maxReceiveCount visibility timeouts (the simulated queue has no backlog).
   */
  get abandonAfterMs(): number {
    return this.queue.visibilityTimeoutSeconds * 1000 * this.config.maxReceiveCount;
  }

  /** Why the reconciler settled items, in order. */
  readonly settledBy: string[] = [];

  /**
   * The reconciler's settling pass over the ledger (completeness.ts `convergenceOf`, as `reconcile`
   * uses it, with the DLQ as its witness: `dead-letter-witness.ts` reads the keys of the DLQ).
   */
  async reconcile(): Promise<void> {
    const inDlq = new Set(this.queue.dlq.map((copy) => copy.key));
    for (const item of this.ledger.items.values()) {
      const why = convergenceOf({ ...item, inDeadLetterQueue: inDlq.has(item.key) }, this.clock.now, {
        maxReceiveCount: this.config.maxReceiveCount,
        abandonAfterMs: this.abandonAfterMs,
      });
      if (!why || !item.claimToken) continue;
      const written = await this.ledger.settleOutOfReceives({ key: item.key, claimToken: item.claimToken, reason: why, now: this.clock.now });
      if (written.kind === 'applied') this.settledBy.push(why);
    }
  }

  /**
   * Lets the queue's semantics play out with healthy environments: whenever messages are visible
   * they are received and processed; otherwise the clock moves to the next visibility; the
   * reconciler runs every period. Ends when the queue is empty and a reconciler run is done.
   */
  async playOut(reconcilerPeriodMs = 60_000, maxSteps = 200): Promise<void> {
    let nextReconcile = this.clock.now + reconcilerPeriodMs;
    for (let step = 0; step < maxSteps; step += 1) {
      const records = this.queue.receive(10);
      if (records.length > 0) {
        await this.invoke(records);
        this.clock.now += 1;
        continue;
      }
      const next = this.queue.nextVisibleAt();
      if (next === undefined) {
        // Queue empty: one reconciler period later every lease has ended (leases are shorter than a period).
        this.clock.now = Math.max(this.clock.now, nextReconcile);
        // One run settles everything (issue 12: "within one reconciler period"); the age rule
        // (`abandoned`) is only the fallback for a DLQ deeper than the witness reads.
        await this.reconcile();
        return;
      }
      this.clock.now = Math.max(this.clock.now + 1, next);
      if (this.clock.now >= nextReconcile) {
        await this.reconcile();
        nextReconcile = this.clock.now + reconcilerPeriodMs;
      }
    }
    throw new Error('the queue did not drain');
  }
}
