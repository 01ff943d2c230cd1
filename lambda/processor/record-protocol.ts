import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { LEDGER_STATUS, MESSAGE_ATTRIBUTE, METRIC, TIER } from '../contract';
import {
  asPipelineError,
  BreakerOpenError,
  BudgetExhaustedError,
  errorClassOf,
  ModelCallError,
  type PipelineError,
  type RejectedInputError,
  TimeBudgetExhaustedError,
} from '../errors/pipeline-errors';
import type { LedgerStore } from '../ledger/ledger-store';
import type { KeyCallCounter } from '../resilience/key-call-counter';
import { queueBackoffSeconds } from '../resilience/queue-backoff';
import type { RetryPolicy } from '../resilience/retry-policy';
import { taskFeatures } from '../tasks/task-features';
import type { BatchMetrics } from './batch-metrics';
import { callCapFor, type FallbackChain, type RecordWork, type TierNote } from './fallback-chain';
import { rejectedKey } from './input-key';
import type { ParsedMessage } from './message-parser';
import type { QueueGateway } from './queue-gateway';
import type { RecentKeys } from './recent-keys';
import type { RuntimeConfig } from './runtime-config';

/** What happened to one record. Exactly one per record, and one log line says which. */
export const OUTCOME = {
  COMPLETED: 'completed',
  DUPLICATE: 'duplicate',
  REJECTED: 'rejected',
  IN_REVIEW: 'in-review',
  CLAIMED_ELSEWHERE: 'claimed-elsewhere',
  FAILED: 'failed',
} as const;
export type Outcome = (typeof OUTCOME)[keyof typeof OUTCOME];

/** What the per-record protocol needs: the ledger, the queues, the fallback chain and the loop guard. */
export interface RecordProtocolDependencies {
  readonly config: RuntimeConfig;
  readonly ledger: LedgerStore;
  readonly queues: QueueGateway;
  readonly chain: FallbackChain;
  /** The one retry layer of model calls (its shortest attempt decides whether a record is started). */
  readonly retryPolicy: RetryPolicy;
  /** Model calls per key across receives (the loop guard). */
  readonly keyCalls: KeyCallCounter;
  /** Terminal keys this warm instance has seen. */
  readonly recentKeys: RecentKeys;
  /** @default Date.now */
  readonly now?: () => number;
  /** Jitter of the queue-level backoff. @default Math.random */
  readonly random?: () => number;
}

/** What one invocation gives every record: its clock limits and its batch-wide state. */
export interface BatchContext {
  /** Epoch ms when the Lambda service would end the invocation. */
  readonly deadline: number;
  /** Epoch ms when the records' work ends (the deadline less the invocation's margin). */
  readonly workUntil: number;
  readonly metrics: BatchMetrics;
  /** Breakers refreshed in this batch (each at most once per invocation). */
  readonly refreshed: Map<string, Promise<void>>;
}

export interface RecordResult {
  readonly outcome: Outcome;
  readonly key?: string;
  readonly task?: string;
  readonly jobId?: string;
  readonly correlationId?: string;
  readonly tier?: string;
  readonly modelId?: string;
  readonly modelCalls?: number;
  readonly notes?: readonly TierNote[];
  readonly error?: PipelineError;
  /** The record goes back to the queue (a batch item failure). */
  readonly retry: boolean;
  /** Seconds the record stays hidden before it comes back. */
  readonly visibilitySeconds?: number;
}

/** Below this much time left, a record is not started: it could not finish inside the lease. */
const MIN_WORK_MS = 250;

/**
 * Time kept back after the model calls, besides the invocation's margin, for what a record still
 * has to write (complete or escalate, or record the failure and delay the message): model work —
 * attempts, timeouts and backoff — ends this long before the margin begins. A fixed second, not a
 * share of the timeout: those requests take as long in a short invocation as in a long one (and
 * as long in local mode, whose time scale shortens the timeout but not an emulator's latency).
 */
const FINISH_RESERVE_MS = 1000;

/**
 * The per-record protocol: claim → guards → model (the fallback chain) → settle, and the record's
 * way back to the queue when it is not settled in this receive.
 */
export class RecordProtocol {
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly deps: RecordProtocolDependencies) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  /** A follower in the same batch takes its leader's outcome; a completed leader makes it a duplicate. */
  async follow(record: SQSRecord, leader: RecordResult): Promise<RecordResult> {
    if (leader.outcome === OUTCOME.COMPLETED || leader.outcome === OUTCOME.IN_REVIEW || leader.outcome === OUTCOME.DUPLICATE) {
      return { outcome: OUTCOME.DUPLICATE, key: leader.key, task: leader.task, jobId: leader.jobId, correlationId: leader.correlationId, retry: false };
    }
    const follower = { ...leader, modelCalls: 0, notes: [], visibilitySeconds: undefined };
    return follower.retry ? this.giveBack(record, follower) : follower;
  }

  async reject(record: SQSRecord, error: RejectedInputError): Promise<RecordResult> {
    const key = rejectedKey(record.body);
    try {
      await this.deps.ledger.recordRejection({
        key,
        reason: error.reason,
        detail: error.detail,
        messageId: record.messageId,
        bodyBytes: Buffer.byteLength(record.body, 'utf8'),
        jobId: error.jobId,
        now: this.now(),
      });
      await this.deps.queues.deadLetter(record.body, {
        [MESSAGE_ATTRIBUTE.FAILURE_REASON]: error.reason,
        [MESSAGE_ATTRIBUTE.FAILURE_DETAIL]: error.detail,
        [MESSAGE_ATTRIBUTE.INPUT_HASH]: key,
        [MESSAGE_ATTRIBUTE.ORIGINAL_MESSAGE_ID]: record.messageId,
        [MESSAGE_ATTRIBUTE.RECEIVE_COUNT]: record.attributes.ApproximateReceiveCount ?? '1',
        [MESSAGE_ATTRIBUTE.STAGE]: this.deps.config.stage,
      });
      // Not a batch item failure: the message is now in the DLQ, so the event source deletes it here.
      return { outcome: OUTCOME.REJECTED, key, correlationId: key, error, retry: false };
    } catch (failure) {
      // Could not park it: leave it on the queue, the next receive rejects it again.
      return { outcome: OUTCOME.FAILED, key, correlationId: key, error: asPipelineError(failure), retry: true };
    }
  }

  /** One record with a valid message, through its whole protocol in this receive. */
  async processRecord(record: SQSRecord, message: ParsedMessage, batch: BatchContext): Promise<RecordResult> {
    const { deadline, workUntil, metrics, refreshed } = batch;
    const { key, task } = message;
    const base = { key, task: task.name, jobId: message.jobId, correlationId: correlationIdOf(message) };
    if (this.deps.recentKeys.has(key)) return { ...base, outcome: OUTCOME.DUPLICATE, retry: false };
    const receiveCount = receiveCountOf(record);
    // Not started unless one model attempt still fits: a claim that cannot reach the model only
    // costs writes and a receive.
    if (workUntil - FINISH_RESERVE_MS - this.now() < Math.max(MIN_WORK_MS, this.deps.retryPolicy.minAttemptMs)) {
      return this.giveBack(record, { ...base, outcome: OUTCOME.FAILED, error: new TimeBudgetExhaustedError('too little time left to start'), retry: true });
    }

    const claimToken = randomUUID();
    let claimed = false;
    const work: RecordWork = {
      message,
      modelUntil: workUntil - FINISH_RESERVE_MS,
      receiveCount,
      callCap: this.deps.config.modelCallsPerReceive,
      finalReceive: receiveCount >= this.deps.config.maxReceiveCount,
      metrics,
      refreshed,
      calls: 0,
      tokensIn: 0,
      tokensOut: 0,
      notes: [],
    };
    try {
      const claim = await this.deps.ledger.claim({
        key,
        task: task.name,
        taskVersion: task.version,
        messageId: record.messageId,
        jobId: message.jobId,
        claimToken,
        leaseUntil: deadline,
        now: this.now(),
      });
      if (claim.kind === 'duplicate') {
        this.deps.recentKeys.add(key);
        return { ...base, outcome: OUTCOME.DUPLICATE, retry: false };
      }
      if (claim.kind === 'claimed-elsewhere') {
        // On its last receive, another failure would send this copy to the DLQ while the copy that
        // holds the lease settles the same key — one key in two places. The holder's message stays
        // on the queue until it is settled (completed, reviewed or dead-lettered itself), so this
        // copy is redundant: let it go as a duplicate.
        if (receiveCountOf(record) >= this.deps.config.maxReceiveCount) {
          return { ...base, outcome: OUTCOME.DUPLICATE, retry: false, notes: [{ tier: 'none', reason: 'claimed elsewhere on its last receive: the copy holding the lease settles the key' }] };
        }
        await this.deps.queues.delay(record.receiptHandle, this.deps.config.claimedElsewhereVisibilitySeconds).catch(() => undefined);
        return { ...base, outcome: OUTCOME.CLAIMED_ELSEWHERE, retry: true, visibilitySeconds: this.deps.config.claimedElsewhereVisibilitySeconds };
      }
      claimed = true;
      if (claim.takenOver) metrics.count(METRIC.LEASES_TAKEN_OVER, 1, { task: task.name });
      // Tried before (failed, or its owner died): the calls it already cost count against the key's cap.
      if (claim.takenOver || claim.previousStatus === LEDGER_STATUS.FAILED) {
        work.callCap = callCapFor(await this.deps.keyCalls.read(key), this.deps.config);
      }

      const served = await this.deps.chain.serve(work);
      if (served.tier !== TIER.PRIMARY) metrics.count(METRIC.FALLBACKS, 1, { task: task.name, tier: served.tier });
      if (served.tier === TIER.HUMAN) {
        await this.escalate(record, message, claimToken, served.notes, work.calls);
        this.deps.recentKeys.add(key);
        return { ...base, outcome: OUTCOME.IN_REVIEW, tier: TIER.HUMAN, modelCalls: work.calls, notes: served.notes, retry: false };
      }
      const completion = await this.deps.ledger.complete({
        key,
        claimToken,
        result: served.result,
        tier: served.tier,
        modelId: served.modelId,
        tokensIn: served.tokensIn,
        tokensOut: served.tokensOut,
        modelLatencyMs: served.latencyMs,
        modelCalls: served.modelCalls,
        // The drift monitor's features ride on this same write (no extra request).
        features: taskFeatures(task, { input: message.input, output: served.result, tier: served.tier }),
        now: this.now(),
      });
      this.deps.recentKeys.add(key);
      const outcome = completion === 'completed' ? OUTCOME.COMPLETED : OUTCOME.DUPLICATE;
      return { ...base, outcome, tier: served.tier, modelId: served.modelId, modelCalls: work.calls, notes: served.notes, retry: false };
    } catch (thrown) {
      const error = asPipelineError(thrown);
      if (work.calls > 0) await this.deps.keyCalls.add(key, work.calls, this.now()).catch(() => undefined);
      if (claimed) {
        await this.deps.ledger
          .recordFailure({
            key,
            claimToken,
            errorClass: errorClassOf(error),
            message: error.message,
            receiveCount,
            now: this.now(),
          })
          .catch(() => undefined); // The lease ends by itself at the deadline.
      }
      return this.giveBack(record, { ...base, outcome: OUTCOME.FAILED, error, modelCalls: work.calls, notes: work.notes, retry: true });
    }
  }

  /**
   * A record that goes back to the queue is hidden for a jittered exponential delay by its receive
   * count, never shorter than what the failure asked for (Retry-After, the breaker's cooldown, the
   * next budget hour).
   */
  private async giveBack(record: SQSRecord, result: RecordResult): Promise<RecordResult> {
    const { config } = this.deps;
    const floorMs = retryAfterOf(result.error);
    const seconds = queueBackoffSeconds(
      receiveCountOf(record),
      { baseSeconds: config.queueBackoffBaseSeconds, maxSeconds: config.queueBackoffMaxSeconds, random: this.random },
      floorMs,
    );
    // Not fatal when it fails: the record still comes back, after the queue's own visibility timeout.
    const delayed = await this.deps.queues.delay(record.receiptHandle, seconds).then(
      () => true,
      () => false,
    );
    return { ...result, visibilitySeconds: delayed ? seconds : undefined };
  }

  private async escalate(record: SQSRecord, message: ParsedMessage, claimToken: string, notes: readonly TierNote[], modelCalls: number): Promise<void> {
    const reasons = notes.map((note) => `${note.tier}${note.modelId ? ` (${note.modelId})` : ''}: ${note.reason}`);
    await this.deps.queues.escalate(
      JSON.stringify({
        key: message.key,
        task: message.task.name,
        taskVersion: message.task.version,
        jobId: message.jobId,
        input: message.input,
        reasons,
        reasonsByTier: notes,
        modelCalls,
        receiveCount: receiveCountOf(record),
      }),
      {
        [MESSAGE_ATTRIBUTE.INPUT_HASH]: message.key,
        [MESSAGE_ATTRIBUTE.ORIGINAL_MESSAGE_ID]: record.messageId,
        [MESSAGE_ATTRIBUTE.FAILURE_REASON]: 'ESCALATED',
        [MESSAGE_ATTRIBUTE.STAGE]: this.deps.config.stage,
      },
    );
    await this.deps.ledger.markInReview({ key: message.key, claimToken, reasons, now: this.now() });
  }
}

/** The record's ApproximateReceiveCount, at least 1. */
export function receiveCountOf(record: SQSRecord): number {
  const count = Number(record.attributes.ApproximateReceiveCount ?? '1');
  return Number.isFinite(count) && count >= 1 ? count : 1;
}

/** A producer's correlation id (metadata.correlationId), else the input hash. */
function correlationIdOf(message: ParsedMessage): string {
  const value = message.metadata?.correlationId;
  return typeof value === 'string' && value.length > 0 ? value.slice(0, 128) : message.key;
}

/** What a failure asks the queue to wait at least (ms). */
function retryAfterOf(error: PipelineError | undefined): number {
  if (error instanceof ModelCallError || error instanceof BreakerOpenError || error instanceof BudgetExhaustedError) return error.retryAfterMs ?? 0;
  return 0;
}
