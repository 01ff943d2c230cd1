import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { LEDGER_STATUS, MESSAGE_ATTRIBUTE, METRIC, REUSED_TIER, TIER } from '../contract';
import {
  asPipelineError,
  BreakerOpenError,
  BudgetExhaustedError,
  DependencyError,
  errorClassOf,
  ModelCallError,
  RateLimitedError,
  type PipelineError,
  type RejectedInputError,
  TimeBudgetExhaustedError,
} from '../errors/pipeline-errors';
import type { ClaimOutcome, ClaimRefusal, ClaimRequest, CompleteRequest, LedgerStore, UnclaimedCompleteOutcome } from '../ledger/ledger-store';
import { FINAL_FOR_PROCESSOR, type WriteOutcome } from '../ledger/ledger-transitions';
import type { KeyCallCounter } from '../resilience/key-call-counter';
import { MAX_VISIBILITY_SECONDS, queueBackoffSeconds } from '../resilience/queue-backoff';
import type { RetryPolicy } from '../resilience/retry-policy';
import type { RuntimeSwitches } from '../resilience/runtime-switches';
import { taskFeatures } from '../tasks/task-features';
import type { BatchMetrics } from './batch-metrics';
import type { EntityGuard } from './entity-guard';
import { callCapFor, type FallbackChain, type RecordWork, type Served, type TierNote } from './fallback-chain';
import { rejectedKey } from './input-key';
import type { ParsedMessage } from './message-parser';
import type { QueueGateway } from './queue-gateway';
import type { RecentKeys } from './recent-keys';
import type { RuntimeConfig } from './runtime-config';
import type { ShadowRun } from './shadow-run';
import { requeueStopped, stoppedTaskDelaySeconds } from './task-stop';
import { recordVariantMetrics, taskStopped } from './variants';
import type { VisibilityChanges } from './visibility-changes';

/** What happened to one record. Exactly one per record, and one log line says which. */
export const OUTCOME = {
  COMPLETED: 'completed',
  DUPLICATE: 'duplicate',
  REJECTED: 'rejected',
  IN_REVIEW: 'in-review',
  CLAIMED_ELSEWHERE: 'claimed-elsewhere',
  FAILED: 'failed',
  /** Its task is stopped by a runtime switch: a fresh copy waits on the queue (task-stop.ts). */
  DEFERRED: 'deferred',
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
  /** Escalation loops across edits (issue 16); absent: records are served by the chain alone. */
  readonly entityGuard?: EntityGuard;
  /** @default Date.now */
  readonly now?: () => number;
  /** Jitter of the queue-level backoff. @default Math.random */
  readonly random?: () => number;
  /** Runtime switches (stop a task; the rest act in the fallback chain). @default none */
  readonly switches?: RuntimeSwitches;
  /** The shadow run (shadow-run.ts): after a completion, a sampled record also asks the candidate. @default none */
  readonly shadow?: ShadowRun;
}

/** What one invocation gives every record: its clock limits and its batch-wide state. */
export interface BatchContext {
  /** Epoch ms when the Lambda service would end the invocation. */
  readonly deadline: number;
  /** Epoch ms when the records' work ends (the deadline less the invocation's margin). */
  readonly workUntil: number;
  /**
   * Epoch ms when the records' leases end: between `workUntil` and the deadline, so that the writes
   * that settle a record (which start before `workUntil`) still land inside the lease, and the lease
   * has ended before the Lambda service could kill the invocation, with an allowance for clock skew
   * between execution environments. Every request of a record is aborted at this time.
   */
  readonly leaseUntil: number;
  /** Epoch ms no later than the receive of the batch's messages (SQS's 12 h visibility limit counts from it). */
  readonly receivedBy: number;
  readonly metrics: BatchMetrics;
  /** Breakers refreshed in this batch (each at most once per invocation). */
  readonly refreshed: Map<string, Promise<void>>;
  /** The visibility changes of records that go back to the queue, sent together after the records (batch-processor.ts). */
  readonly visibility: VisibilityChanges;
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
  /** Seconds the record stays hidden before it comes back (undefined: the change failed, the queue's timeout applies). */
  readonly visibilitySeconds?: number;
}

/** The part of a record's result every outcome carries. */
interface RecordBase {
  readonly key: string;
  readonly task: string;
  readonly jobId?: string;
  readonly correlationId: string;
}

/** Hidden this much past a lease that must end first, so the next receive finds it ended on any clock. */
const LEASE_CLEARANCE_MS = 1000;

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

  /**
   * A follower in the same batch takes its leader's outcome: a settled leader (completed, in review,
   * a duplicate) makes it a duplicate. A leader that goes back to the queue takes its followers
   * with it — except a follower on its last receive: the leader's message stays on the queue until
   * it settles the key, so the follower is let go rather than redriven to the DLQ for a key that
   * may yet complete (one key in two places).
   */
  async follow(record: SQSRecord, leader: RecordResult, batch: BatchContext): Promise<RecordResult> {
    const settled = leader.outcome === OUTCOME.COMPLETED || leader.outcome === OUTCOME.IN_REVIEW || leader.outcome === OUTCOME.DUPLICATE;
    if (settled || (leader.retry && receiveCountOf(record) >= this.deps.config.maxReceiveCount)) {
      return { outcome: OUTCOME.DUPLICATE, key: leader.key, task: leader.task, jobId: leader.jobId, correlationId: leader.correlationId, retry: false };
    }
    const follower = { ...leader, modelCalls: 0, notes: [], visibilitySeconds: undefined };
    return follower.retry ? this.giveBack(record, batch, follower) : follower;
  }

  /**
   * Bad input: the REJECTED item is written first, and only a new one — or another message with the
   * same body — sends the message to the DLQ. A redelivery of the same message (the batch timed out
   * after the send, say) finds the item and is let go without a second DLQ copy. The DLQ copy is therefore sent at most once: if the send fails or the process
   * dies right after the write, the ledger still holds the rejection and its reason.
   */
  async reject(record: SQSRecord, error: RejectedInputError, batch: BatchContext): Promise<RecordResult> {
    const key = rejectedKey(record.body);
    const base = { key, correlationId: key, error, jobId: error.jobId };
    let written: WriteOutcome;
    try {
      written = await this.deps.ledger.recordRejection({
        key,
        reason: error.reason,
        detail: error.detail,
        messageId: record.messageId,
        bodyBytes: Buffer.byteLength(record.body, 'utf8'),
        jobId: error.jobId,
        now: this.now(),
        signal: this.signalUntil(batch.leaseUntil),
      });
    } catch (failure) {
      // Could not record it: leave it on the queue, the next receive rejects it again.
      return { ...base, outcome: OUTCOME.FAILED, error: asPipelineError(failure), retry: true };
    }
    // This same message was rejected on an earlier receive (the batch timed out after the send, say):
    // its DLQ copy was sent then, at most once. Another message with the same bad body (a re-send,
    // an operator's DLQ redrive) is a message of its own and goes to the DLQ; the rejection stands.
    if (written.kind === 'stale' && written.messageId === record.messageId) {
      return {
        ...base,
        outcome: OUTCOME.DUPLICATE,
        retry: false,
        notes: [{ tier: 'none', reason: 'rejected on an earlier receive: not sent to the DLQ again' }],
      };
    }
    try {
      await this.deps.queues.deadLetter(
        record.body,
        {
          [MESSAGE_ATTRIBUTE.FAILURE_REASON]: error.reason,
          [MESSAGE_ATTRIBUTE.FAILURE_DETAIL]: error.detail,
          [MESSAGE_ATTRIBUTE.INPUT_HASH]: key,
          [MESSAGE_ATTRIBUTE.ORIGINAL_MESSAGE_ID]: record.messageId,
          [MESSAGE_ATTRIBUTE.RECEIVE_COUNT]: record.attributes.ApproximateReceiveCount ?? '1',
          [MESSAGE_ATTRIBUTE.STAGE]: this.deps.config.stage,
        },
        { signal: this.signalUntil(batch.leaseUntil) },
      );
    } catch (failure) {
      batch.metrics.count(METRIC.NOTICES_LOST, 1, { errorClass: 'DeadLetterCopyLost' });
      return {
        ...base,
        outcome: OUTCOME.REJECTED,
        retry: false,
        notes: [{ tier: 'none', reason: `the DLQ copy could not be sent (${asPipelineError(failure).message}); the ledger holds the rejection` }],
      };
    }
    // Not a batch item failure: the message is now in the DLQ, so the event source deletes it here.
    return { ...base, outcome: OUTCOME.REJECTED, retry: false };
  }

  /**
   * One record with a valid message, through its whole protocol in this receive:
   *
   * ```
   *  claim ─► guards + fallback chain ─► review | complete   (each write fenced by the claim token)
   *    │                  │ throws
   *    │                  └─► fail (or deadLetter on the last receive) ─► give back to the queue
   *    └─ held by another lease ─► give back (or, on the last receive, let go / observe the receive)
   * ```
   */
  async processRecord(record: SQSRecord, message: ParsedMessage, batch: BatchContext): Promise<RecordResult> {
    const { workUntil, metrics, refreshed } = batch;
    const { config, ledger } = this.deps;
    const { key, task } = message;
    const base = { key, task: task.name, jobId: message.jobId, correlationId: correlationIdOf(message) };
    if (this.deps.recentKeys.has(key)) return { ...base, outcome: OUTCOME.DUPLICATE, retry: false };
    // ── runtime switch stop-task.<task> (task-stop.ts): no claim, a fresh delayed copy on the queue ──
    if (taskStopped(this.deps.switches, task.name)) {
      const delay = stoppedTaskDelaySeconds(config.queueBackoffMaxSeconds);
      if (await requeueStopped(this.deps.queues, record, delay, this.signalUntil(batch.leaseUntil))) {
        return {
          ...base,
          outcome: OUTCOME.DEFERRED,
          retry: false,
          visibilitySeconds: delay,
          notes: [{ tier: 'none', reason: `runtime switch stop-task.${task.name}` }],
        };
      }
      // No copy sent: this one goes back instead (a receive counted), never on to the model.
      const error = new DependencyError('sqs', `stop-task.${task.name}: the record could not be put back on the queue`);
      return this.giveBack(record, batch, { ...base, outcome: OUTCOME.FAILED, error, retry: true });
    }
    // ── end stop-task ──
    const receiveCount = receiveCountOf(record);
    const finalReceive = receiveCount >= config.maxReceiveCount;
    const modelUntil = workUntil - FINISH_RESERVE_MS;
    const modelTime = modelUntil - this.now() >= Math.max(MIN_WORK_MS, this.deps.retryPolicy.minAttemptMs);
    // Not started unless one model attempt still fits: a claim that cannot reach the model only
    // costs writes and a receive. Except on the last receive: given back now, the record would be
    // redriven with no ledger item; the rules tier and review need no model time, so it is settled.
    if (!modelTime && !finalReceive) {
      return this.giveBack(record, batch, {
        ...base,
        outcome: OUTCOME.FAILED,
        error: new TimeBudgetExhaustedError('too little time left to start'),
        retry: true,
      });
    }

    // Every model this record would try is refused by its open breaker (and the stage defers):
    // back to the queue unclaimed, hidden until a probe may go through. No ledger write, as when
    // no model time is left. Not for an entity's record, which the entity guard may serve without
    // a model; and not on the last receive, which settles the key (below).
    const entityRecord = this.deps.entityGuard !== undefined && message.entityId !== undefined;
    const refused = entityRecord ? undefined : await this.deps.chain.breakerDeferral(message, refreshed, metrics);
    if (refused && !finalReceive) {
      const notes = [{ tier: 'none', reason: `every model is refused by its breaker (${refused.modelIds.join(', ')}): not claimed, back to the queue` }];
      return this.giveBack(record, batch, { ...base, outcome: OUTCOME.FAILED, error: refused, notes, retry: true });
    }

    const claimToken = randomUUID();
    const work: RecordWork = {
      message,
      modelUntil,
      receiveCount,
      callCap: config.modelCallsPerReceive,
      noModelTime: !modelTime,
      finalReceive,
      metrics,
      refreshed,
      calls: 0,
      tokensIn: 0,
      tokensOut: 0,
      notes: [],
    };
    // The last receive, with no model to ask (each refused by its breaker, or no time for a call):
    // the chain comes to the rules or review without a call, so it is served before any write, and
    // a rules answer is stored by one write that claims and completes at once (issue 17's outage
    // cost: claim + complete were two writes for one decision). Review still claims first, then
    // escalates. Should serving throw (a task's rules; a model after the rules that its breaker
    // lets through: ModelTierUnclaimed), the usual path below claims and serves again.
    if (finalReceive && !entityRecord && (refused || !modelTime)) {
      const early: RecordWork = { ...work, notes: [], modelsRefused: refused };
      const served = await this.deps.chain.serve(early).catch(() => undefined);
      if (served && served.tier !== TIER.HUMAN) return this.completeUnclaimed(record, early, served, claimToken, batch, base);
    }

    let claim: ClaimOutcome;
    try {
      claim = await this.claim(record, message, claimToken, batch, finalReceive);
    } catch (thrown) {
      // Nothing was written; the message goes back. On its last receive SQS redrives it with no
      // ledger item: the reconciler counts it as not in the ledger (the table was unwritable twice).
      return this.giveBack(record, batch, { ...base, outcome: OUTCOME.FAILED, error: asPipelineError(thrown), retry: true });
    }
    if (claim.kind !== 'claimed') return this.refusedClaim(record, batch, base, claim);

    try {
      if (claim.takenOver) metrics.count(METRIC.LEASES_TAKEN_OVER, 1, { task: task.name });
      // Tried before (failed, or its owner died): the calls it already cost count against the key's cap.
      if (modelTime && (claim.takenOver || claim.previousStatus === LEDGER_STATUS.FAILED || claim.previousStatus === LEDGER_STATUS.DEAD_LETTERED)) {
        work.callCap = callCapFor(await this.deps.keyCalls.read(key), config);
      }

      // Entity loops (issue 16): a held or looping entity goes to review, a small edit reuses the last decision.
      const served = (await this.deps.entityGuard?.serve(work, batch.leaseUntil)) ?? (await this.deps.chain.serve(work));
      this.countServed(work, served);
      const settled =
        served.tier === TIER.HUMAN
          ? await this.escalate(record, message, claimToken, served.notes, work.calls, batch)
          : await ledger.complete({
              ...completionOf(message, served, claimToken, this.now()),
              variant: work.variant,
              ...(work.promptVersion && (served.tier === TIER.PRIMARY || served.tier === TIER.SECONDARY) ? { promptVersion: work.promptVersion } : {}),
              signal: this.signalUntil(batch.leaseUntil),
            });
      if (work.calls > 0 && settled.kind === 'stale') await this.deps.keyCalls.add(key, work.calls, this.now()).catch(() => undefined);
      if (settled.kind === 'stale') return this.lostLease(record, batch, base, settled, work);
      return await this.settledResult(work, served, batch, base);
    } catch (thrown) {
      const error = asPipelineError(thrown);
      if (work.calls > 0) await this.deps.keyCalls.add(key, work.calls, this.now()).catch(() => undefined);
      // The last receive settles the key as dead-lettered (SQS redrives the message next); earlier
      // ones release the lease for the next receive. Either way fenced by the claim token.
      const release = finalReceive ? ledger.recordDeadLetter.bind(ledger) : ledger.recordFailure.bind(ledger);
      const released = await release({
        key,
        claimToken,
        errorClass: errorClassOf(error),
        message: error.message,
        receiveCount,
        now: this.now(),
        signal: this.signalUntil(batch.leaseUntil),
      }).then(
        (written) => written.kind === 'applied',
        () => false,
      );
      // Not released: keep the message hidden until the lease has ended, so that its next receive
      // takes the key over instead of finding its own earlier lease (and on the last receive the
      // reconciler settles the item once the lease has ended: it records this receive count).
      const result = { ...base, outcome: OUTCOME.FAILED, error, modelCalls: work.calls, notes: work.notes, retry: true } as const;
      return this.giveBack(record, batch, result, released ? undefined : batch.leaseUntil);
    }
  }

  /** The claim; on the last receive one more try, since a claim that fails now leaves no ledger item behind. */
  private claim(record: SQSRecord, message: ParsedMessage, claimToken: string, batch: BatchContext, finalReceive: boolean): Promise<ClaimOutcome> {
    return this.lastReceiveRetry(finalReceive, batch, () =>
      this.deps.ledger.claim({ ...this.claimOf(record, message, claimToken), leaseUntil: batch.leaseUntil, signal: this.signalUntil(batch.leaseUntil) }),
    );
  }

  /** What a claim of this record names: the key, its task and job, the message and this attempt's token. */
  private claimOf(record: SQSRecord, message: ParsedMessage, claimToken: string): Omit<ClaimRequest, 'leaseUntil'> {
    return {
      key: message.key,
      task: message.task.name,
      taskVersion: message.task.version,
      messageId: record.messageId,
      receiveCount: receiveCountOf(record),
      jobId: message.jobId,
      claimToken,
      now: this.now(),
    };
  }

  /** A write on the last receive gets one more try while there is work time: one that fails leaves no ledger item behind. */
  private async lastReceiveRetry<T>(finalReceive: boolean, batch: BatchContext, attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (error) {
      if (!finalReceive || this.now() >= batch.workUntil) throw error;
      return attempt();
    }
  }

  /**
   * A record served with no model call on its last receive: one write claims the key and stores
   * the answer (ledger-transitions.ts `completeUnclaimed`). Nothing runs between the claim and the
   * completion, so no lease is needed to protect it; a crash before the write is a crash before a
   * claim, one after it a crash after a completion. Refused as a claim is refused: the key is
   * settled (a duplicate) or a live lease holds it.
   */
  private async completeUnclaimed(
    record: SQSRecord,
    work: RecordWork,
    served: Served,
    claimToken: string,
    batch: BatchContext,
    base: RecordBase,
  ): Promise<RecordResult> {
    const { message } = work;
    let written: UnclaimedCompleteOutcome;
    try {
      written = await this.lastReceiveRetry(true, batch, () =>
        this.deps.ledger.completeUnclaimed({
          ...this.claimOf(record, message, claimToken),
          ...completionOf(message, served, claimToken, this.now()),
          variant: work.variant,
          signal: this.signalUntil(batch.leaseUntil),
        }),
      );
    } catch (thrown) {
      // Nothing was written: as a claim that failed twice on the last receive.
      return this.giveBack(record, batch, { ...base, outcome: OUTCOME.FAILED, error: asPipelineError(thrown), retry: true });
    }
    if (written.kind !== 'completed') return this.refusedClaim(record, batch, base, written);
    if (written.takenOver) work.metrics.count(METRIC.LEASES_TAKEN_OVER, 1, { task: message.task.name });
    this.countServed(work, served);
    return this.settledResult(work, served, batch, base);
  }

  /** A claim (or a one-write completion) refused: the key is settled, a duplicate, or a live lease holds it. */
  private refusedClaim(record: SQSRecord, batch: BatchContext, base: RecordBase, refused: ClaimRefusal): Promise<RecordResult> | RecordResult {
    if (refused.kind === 'claimed-elsewhere') return this.heldElsewhere(record, batch, base, refused.messageId, refused.leaseUntil);
    this.deps.recentKeys.add(base.key);
    return { ...base, outcome: OUTCOME.DUPLICATE, retry: false };
  }

  /** What a served record counts: a tier other than the primary (a fallback), and its variant's figures. */
  private countServed(work: RecordWork, served: Served): void {
    const { metrics } = work;
    if (served.tier !== TIER.PRIMARY && served.tier !== REUSED_TIER) metrics.count(METRIC.FALLBACKS, 1, { task: work.message.task.name, tier: served.tier });
    if (work.variant)
      recordVariantMetrics(metrics, this.deps.switches, { variant: work.variant, tier: served.tier, latencyMs: served.latencyMs, notes: served.notes });
  }

  /** The key is settled (completed, or in review): the entity's decision kept, the key remembered, the shadow asked; the record's result. */
  private async settledResult(work: RecordWork, served: Served, batch: BatchContext, base: RecordBase): Promise<RecordResult> {
    const { message } = work;
    await this.deps.entityGuard?.settled(work, served, batch.leaseUntil);
    this.deps.recentKeys.add(message.key);
    // After the result is stored, never before: the shadow delays the record by its call at most, and never fails it.
    const review = served.tier === TIER.HUMAN;
    if (!review) await this.deps.shadow?.run(message, served, work.metrics, work.modelUntil);
    return {
      ...base,
      outcome: review ? OUTCOME.IN_REVIEW : OUTCOME.COMPLETED,
      tier: served.tier,
      modelId: review ? undefined : served.modelId,
      modelCalls: work.calls,
      notes: served.notes,
      retry: false,
    };
  }

  /**
   * A live lease on the key is held by another attempt. Before the last receive: come back later.
   * On the last receive a failure would send this copy to the DLQ while the holder settles the
   * key — one key in two places — so:
   * - the holder is another message (a re-send): that message stays on the queue until the key is
   *   settled, so this copy is let go as a duplicate;
   * - the holder is this same message (SQS delivered it twice, or an earlier receive's lease is
   *   still live): the holder settles it, or dies. The item records this receive count, so that
   *   once the lease has ended the reconciler knows the message is out of receives, and the copy
   *   goes back, hidden until the lease has ended.
   */
  private async heldElsewhere(record: SQSRecord, batch: BatchContext, base: RecordBase, holder: string | undefined, leaseUntil: number): Promise<RecordResult> {
    const { config } = this.deps;
    const receiveCount = receiveCountOf(record);
    if (receiveCount >= config.maxReceiveCount) {
      if (holder !== undefined && holder !== record.messageId) {
        return {
          ...base,
          outcome: OUTCOME.DUPLICATE,
          retry: false,
          notes: [{ tier: 'none', reason: 'claimed by another message on its last receive: that message settles the key' }],
        };
      }
      await this.deps.ledger
        .observeReceive({ key: base.key, messageId: record.messageId, receiveCount, now: this.now(), signal: this.signalUntil(batch.leaseUntil) })
        .catch(() => undefined);
      return this.giveBack(record, batch, { ...base, outcome: OUTCOME.CLAIMED_ELSEWHERE, retry: true }, leaseUntil);
    }
    const seconds = Math.min(this.visibilityLeft(batch), Math.max(config.claimedElsewhereVisibilitySeconds, 1));
    batch.visibility.add(record.receiptHandle, seconds);
    return { ...base, outcome: OUTCOME.CLAIMED_ELSEWHERE, retry: true, visibilitySeconds: seconds };
  }

  /**
   * A settling write came back stale: this attempt's lease was taken over (or the key settled) in
   * the meantime. The write changed nothing; what the item is now decides the message's fate.
   */
  private async lostLease(
    record: SQSRecord,
    batch: BatchContext,
    base: RecordBase,
    stale: WriteOutcome & { kind: 'stale' },
    work: RecordWork,
  ): Promise<RecordResult> {
    const notes = [...work.notes, { tier: 'none', reason: `the lease was lost before settling (the item is ${stale.status ?? 'gone'})` }];
    if (stale.status && FINAL_FOR_PROCESSOR.has(stale.status)) {
      this.deps.recentKeys.add(base.key);
      return { ...base, outcome: OUTCOME.DUPLICATE, modelCalls: work.calls, notes, retry: false };
    }
    if (stale.status === LEDGER_STATUS.IN_PROGRESS) {
      const result = await this.heldElsewhere(record, batch, base, stale.messageId, batch.leaseUntil);
      return { ...result, modelCalls: work.calls, notes };
    }
    return this.giveBack(record, batch, { ...base, outcome: OUTCOME.FAILED, modelCalls: work.calls, notes, retry: true });
  }

  /**
   * A record that goes back to the queue is hidden for a jittered exponential delay by its receive
   * count, never shorter than what the failure asked for (Retry-After, the breaker's cooldown, the
   * next budget hour) or than `notBefore` (a lease that must end first) — and never longer than
   * SQS allows: 12 hours counted from the receive, so a long Retry-After is clamped to what is left
   * rather than refused (a refused change leaves the queue's default visibility, silently).
   */
  private async giveBack(record: SQSRecord, batch: BatchContext, result: RecordResult, notBefore?: number): Promise<RecordResult> {
    const { config } = this.deps;
    const floorMs = Math.max(retryAfterOf(result.error), notBefore === undefined ? 0 : notBefore - this.now() + LEASE_CLEARANCE_MS);
    const wanted = queueBackoffSeconds(
      receiveCountOf(record),
      { baseSeconds: config.queueBackoffBaseSeconds, maxSeconds: config.queueBackoffMaxSeconds, random: this.random },
      floorMs,
    );
    const seconds = Math.min(wanted, this.visibilityLeft(batch));
    // Sent with the batch's other changes when its records are done (visibility-changes.ts); not
    // fatal when it fails: the record still comes back, after the queue's own visibility timeout.
    batch.visibility.add(record.receiptHandle, seconds);
    const notes =
      seconds < wanted
        ? [...(result.notes ?? []), { tier: 'none', reason: `visibility clamped to ${seconds} s (asked ${wanted} s): SQS allows 12 h from the receive` }]
        : result.notes;
    return { ...result, notes, visibilitySeconds: seconds };
  }

  /** Seconds of visibility SQS still allows this receive: 12 h from the receive, which was at most a batching window before the invocation began. */
  private visibilityLeft(batch: BatchContext): number {
    const sinceReceive = Math.ceil((this.now() - batch.receivedBy) / 1000);
    return Math.max(0, MAX_VISIBILITY_SECONDS - sinceReceive);
  }

  /**
   * Escalation: the IN_REVIEW write first, fenced by the claim token, then the review notice. So a
   * crash between the two never leads to a second model call or a second notice: the next receive
   * finds the key in review (a duplicate). The notice is sent at most once; the ledger's IN_REVIEW
   * item is the review itself (listing reads the ledger), so a lost notice loses no work.
   */
  private async escalate(
    record: SQSRecord,
    message: ParsedMessage,
    claimToken: string,
    notes: readonly TierNote[],
    modelCalls: number,
    batch: BatchContext,
  ): Promise<WriteOutcome> {
    const reasons = notes.map((note) => `${note.tier}${note.modelId ? ` (${note.modelId})` : ''}: ${note.reason}`);
    const review = await this.deps.ledger.markInReview({
      key: message.key,
      claimToken,
      reasons,
      input: message.input,
      now: this.now(),
      signal: this.signalUntil(batch.leaseUntil),
    });
    if (review.kind === 'stale') return review;
    try {
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
        { signal: this.signalUntil(batch.leaseUntil) },
      );
    } catch {
      batch.metrics.count(METRIC.NOTICES_LOST, 1, { errorClass: 'ReviewNoticeLost' });
    }
    return review;
  }

  /** An abort signal that fires at `until` (epoch ms): no request of this attempt outlives its lease. */
  private signalUntil(until: number): AbortSignal {
    return AbortSignal.timeout(Math.max(1, until - this.now()));
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
  if (error instanceof ModelCallError || error instanceof BreakerOpenError || error instanceof BudgetExhaustedError || error instanceof RateLimitedError)
    return error.retryAfterMs ?? 0;
  return 0;
}

/**
 * The completion of a served record (what the ledger's `complete` stores), for the claim `claimToken`.
 * The drift monitor's features ride on this same write (no extra request). Shared with `pipectl replay --store`.
 */
export function completionOf(message: ParsedMessage, served: Served, claimToken: string, now: number): CompleteRequest {
  return {
    key: message.key,
    claimToken,
    result: served.result,
    tier: served.tier,
    modelId: served.modelId,
    tokensIn: served.tokensIn,
    tokensOut: served.tokensOut,
    modelLatencyMs: served.latencyMs,
    modelCalls: served.modelCalls,
    features: taskFeatures(message.task, { input: message.input, output: served.result, tier: served.tier }),
    now,
  };
}
