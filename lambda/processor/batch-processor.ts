import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { bulkhead } from 'cockatiel';
import { LEDGER_STATUS, MESSAGE_ATTRIBUTE, METRIC, TIER } from '../contract';
import type { LedgerStore } from '../ledger/ledger-store';
import type { ModelProvider, ModelResponse, RepairTurn } from '../model/model-provider';
import { estimateCostUsd, type HourlyBudget, msUntilNextHour } from '../resilience/budget';
import { queueBackoffSeconds } from '../resilience/queue-backoff';
import type { RetryPolicy } from '../resilience/retry-policy';
import type { BreakerPermit, SharedBreaker } from '../resilience/shared-breaker';
import type { KeyCallCounter } from '../resilience/key-call-counter';
import type { Prompt } from '../tasks/task-definition';
import { taskFeatures } from '../tasks/task-features';
import { BatchMetrics } from './batch-metrics';
import {
  asPipelineError,
  BreakerOpenError,
  BudgetExhaustedError,
  errorClassOf,
  InvalidModelOutputError,
  ModelCallError,
  type PipelineError,
  RejectedInputError,
  TimeBudgetExhaustedError,
} from '../errors/pipeline-errors';
import { rejectedKey } from './input-key';
import { parseMessage, type ParsedMessage } from './message-parser';
import { parseModelOutput } from './model-output';
import type { QueueGateway } from './queue-gateway';
import { RecentKeys } from './recent-keys';
import type { RuntimeConfig } from './runtime-config';
import { confidenceOf, policyFor } from './task-policy';

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

/** The counter each outcome adds to (built once, not per record). */
const OUTCOME_METRIC: Readonly<Record<Outcome, string>> = {
  [OUTCOME.COMPLETED]: METRIC.RECORDS_COMPLETED,
  [OUTCOME.DUPLICATE]: METRIC.DUPLICATES_SKIPPED,
  [OUTCOME.REJECTED]: METRIC.RECORDS_REJECTED,
  [OUTCOME.IN_REVIEW]: METRIC.RECORDS_ESCALATED,
  [OUTCOME.CLAIMED_ELSEWHERE]: METRIC.RECORDS_CLAIMED_ELSEWHERE,
  [OUTCOME.FAILED]: METRIC.RECORDS_FAILED,
};

/** The `task` dimension of a record whose message named no known task: never the producer's text. */
const UNKNOWN_TASK_DIMENSION = 'unknown';

export interface BatchProcessorDependencies {
  readonly config: RuntimeConfig;
  readonly ledger: LedgerStore;
  readonly queues: QueueGateway;
  readonly provider: ModelProvider;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The shared breaker of a model (one per model id, kept for the life of the execution environment). */
  readonly breakerFor: (modelId: string) => SharedBreaker;
  readonly budget: HourlyBudget;
  /** The one retry layer of model calls. */
  readonly retryPolicy: RetryPolicy;
  /** Model calls per key across receives (the loop guard). */
  readonly keyCalls: KeyCallCounter;
  /** @default Date.now */
  readonly now?: () => number;
  /** Jitter of the queue-level backoff. @default Math.random */
  readonly random?: () => number;
}

/** The part of the Lambda context the processor uses. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
  readonly awsRequestId: string;
}

/** Why a tier did not serve a record, as the review message and the log line carry it. */
export interface TierNote {
  readonly tier: string;
  readonly modelId?: string;
  readonly reason: string;
  readonly errorClass?: string;
}

interface RecordResult {
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

/** The work on one record in one receive: its model calls and what each tier said. */
interface RecordWork {
  readonly message: ParsedMessage;
  /** Model calls (attempts and backoff) end by this time, leaving the rest for the record's own writes. */
  readonly modelUntil: number;
  readonly receiveCount: number;
  /** Model calls this record may make in this receive (the loop guard). */
  callCap: number;
  /** The last receive before the queue's redrive: settle now (rules, review) rather than defer. */
  readonly finalReceive: boolean;
  readonly metrics: BatchMetrics;
  /** Breakers refreshed in this batch (each at most once per invocation). */
  readonly refreshed: Map<string, Promise<void>>;
  calls: number;
  tokensIn: number;
  tokensOut: number;
  readonly notes: TierNote[];
  /** A reason to try again later (transient model trouble) rather than settle for rules or review. */
  deferral?: PipelineError;
}

/** What one model tier came to. */
type TierOutcome =
  | { readonly kind: 'served'; readonly result: unknown; readonly response: ModelResponse; readonly latencyMs: number }
  | { readonly kind: 'next' };

interface Served {
  readonly tier: string;
  readonly result: unknown;
  readonly modelId: string;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly latencyMs: number;
  readonly modelCalls: number;
  readonly notes: readonly TierNote[];
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

/** Batch-end writes (breaker counts, budget) give up this long before the invocation's deadline. */
const FLUSH_GUARD_MS = 50;

/** How many terminal keys one warm instance remembers. */
const RECENT_KEYS_CAPACITY = 10_000;

/** The longest model answer quoted back to the model in a repair attempt. */
const MAX_REPAIR_QUOTE = 4000;

/**
 * Processes one SQS batch: records in parallel (bounded by `recordConcurrency`), each through
 * parse → key → claim → guards → model (retries, validation, repair) → fallback chain → complete,
 * and returns the partial batch response. Records that go back to the queue are hidden for a
 * jittered backoff by receive count, so retries are spread rather than synchronized.
 *
 * Records of one batch that share a key are processed once: the first is the leader, the others
 * take its outcome without touching DynamoDB.
 *
 * DynamoDB cost of the resilience layer per invocation on the happy path: at most one read (the
 * primary model's breaker, cached for BREAKER_CACHE_MS, and only when a record calls the model)
 * and one write (the budget's ADD, only when the batch made model calls), nothing per record.
 */
export class BatchProcessor {
  private readonly recentKeys = new RecentKeys(RECENT_KEYS_CAPACITY);
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly deps: BatchProcessorDependencies) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  async process(event: SQSEvent, context: InvocationContext): Promise<SQSBatchResponse> {
    const started = this.now();
    const deadline = started + context.getRemainingTimeInMillis();
    const workUntil = deadline - this.deps.config.timeMarginMs;
    const limit = bulkhead(this.deps.config.recordConcurrency, event.Records.length);
    const leaders = new Map<string, Promise<RecordResult>>();
    const metrics = new BatchMetrics();
    const refreshed = new Map<string, Promise<void>>();
    if (this.deps.budget.limited) metrics.observe(METRIC.BUDGET_USED_PERCENT, this.deps.budget.usedPercent(), {}, MetricUnit.Percent);

    const results = await Promise.all(
      event.Records.map((record) => {
        const parsed = this.parse(record);
        if (parsed instanceof RejectedInputError) return limit.execute(() => this.reject(record, parsed));
        const leader = leaders.get(parsed.key);
        if (leader) return leader.then((result) => this.follow(record, result));
        const work = limit.execute(() => this.processRecord(record, parsed, deadline, workUntil, metrics, refreshed));
        leaders.set(parsed.key, work);
        return work;
      }),
    );

    // Shared state once per batch: breaker counts (only when something failed), the budget's ADD.
    await this.flushGuards(deadline);

    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    results.forEach((result, index) => {
      const record = event.Records[index] as SQSRecord;
      this.report(record, result, started, metrics);
      if (result.retry) batchItemFailures.push({ itemIdentifier: record.messageId });
    });
    metrics.publish(this.deps.metrics);
    return { batchItemFailures };
  }

  private parse(record: SQSRecord): ParsedMessage | RejectedInputError {
    try {
      return parseMessage(record.body);
    } catch (error) {
      if (error instanceof RejectedInputError) return error;
      throw error; // parseMessage throws nothing else; if it ever does, fail loudly.
    }
  }

  /** A follower in the same batch takes its leader's outcome; a completed leader makes it a duplicate. */
  private async follow(record: SQSRecord, leader: RecordResult): Promise<RecordResult> {
    if (leader.outcome === OUTCOME.COMPLETED || leader.outcome === OUTCOME.IN_REVIEW || leader.outcome === OUTCOME.DUPLICATE) {
      return { outcome: OUTCOME.DUPLICATE, key: leader.key, task: leader.task, jobId: leader.jobId, correlationId: leader.correlationId, retry: false };
    }
    const follower = { ...leader, modelCalls: 0, notes: [], visibilitySeconds: undefined };
    return follower.retry ? this.giveBack(record, follower) : follower;
  }

  private async reject(record: SQSRecord, error: RejectedInputError): Promise<RecordResult> {
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

  private async processRecord(
    record: SQSRecord,
    message: ParsedMessage,
    deadline: number,
    workUntil: number,
    metrics: BatchMetrics,
    refreshed: Map<string, Promise<void>>,
  ): Promise<RecordResult> {
    const { key, task } = message;
    const base = { key, task: task.name, jobId: message.jobId, correlationId: correlationIdOf(message) };
    if (this.recentKeys.has(key)) return { ...base, outcome: OUTCOME.DUPLICATE, retry: false };
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
        this.recentKeys.add(key);
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
        work.callCap = this.callCapFor(await this.deps.keyCalls.read(key));
      }

      const served = await this.serve(work);
      if (served.tier !== TIER.PRIMARY) metrics.count(METRIC.FALLBACKS, 1, { task: task.name, tier: served.tier });
      if (served.tier === TIER.HUMAN) {
        await this.escalate(record, message, claimToken, served.notes, work.calls);
        this.recentKeys.add(key);
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
      this.recentKeys.add(key);
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

  /**
   * The loop guard: model calls this record may make now. At most MODEL_CALLS_PER_RECEIVE in one
   * receive, and MODEL_CALLS_PER_KEY over every receive and re-send of the same input.
   */
  private callCapFor(callsSoFar: number): number {
    const { modelCallsPerReceive, modelCallsPerKey } = this.deps.config;
    return Math.max(0, Math.min(modelCallsPerReceive, modelCallsPerKey - callsSoFar));
  }

  /**
   * The fallback chain, per the task's policy: primary model → secondary model → the task's rules
   * → human review. A model tier that cannot serve — its breaker open, the budget spent, its
   * answer invalid after one repair, its confidence too low, a non-retryable error — hands over to
   * the next tier. Transient trouble (retryable errors past the retry budget, an open breaker
   * that the stage defers on) is remembered: instead of settling for rules or review, the record
   * goes back to the queue to try the models again later — except on its last receive.
   */
  private async serve(work: RecordWork): Promise<Served> {
    const { task, input } = work.message;
    const { config } = this.deps;
    const policy = policyFor(task.name, config);
    const budgetSpent = this.deps.budget.exhausted();
    if (budgetSpent) work.metrics.count(METRIC.BUDGET_EXHAUSTED, 1, { task: task.name });
    let capReached = work.callCap <= 0;

    for (const tier of policy.tiers) {
      if (tier === TIER.PRIMARY || tier === TIER.SECONDARY) {
        const modelId = tier === TIER.PRIMARY ? config.primaryModelId : config.secondaryModelId;
        if (!modelId) continue;
        if (capReached || work.calls >= work.callCap) {
          capReached = true;
          work.notes.push({ tier, modelId, reason: `the model call cap was reached (${work.calls} this receive; receive ${work.receiveCount})` });
          break;
        }
        if (budgetSpent) {
          work.notes.push({ tier, modelId, reason: 'the hourly model budget is spent' });
          if (config.budgetWhenExhausted === 'defer') {
            work.deferral ??= new BudgetExhaustedError(this.deps.budget.usedPercent(), msUntilNextHour(this.now()));
          }
          continue;
        }
        const outcome = await this.modelTier(work, tier, modelId, policy.minConfidence);
        if (outcome.kind === 'served') {
          return {
            tier,
            result: outcome.result,
            modelId,
            tokensIn: work.tokensIn,
            tokensOut: work.tokensOut,
            latencyMs: outcome.latencyMs,
            modelCalls: work.calls,
            notes: work.notes,
          };
        }
        continue;
      }
      if (work.deferral && !work.finalReceive) throw work.deferral;
      if (tier === TIER.RULES && task.rules) {
        const parsed = task.outputSchema.safeParse(task.rules(input));
        if (!parsed.success) {
          work.notes.push({ tier, reason: 'the rules produced a result that fails the output schema' });
          continue;
        }
        const confidence = confidenceOf(parsed.data);
        if (policy.minConfidence > 0 && confidence !== undefined && confidence < policy.minConfidence) {
          work.notes.push({ tier, reason: `confidence ${confidence} is below ${policy.minConfidence}` });
          continue;
        }
        return { tier, result: parsed.data, modelId: 'rules', tokensIn: work.tokensIn, tokensOut: work.tokensOut, latencyMs: 0, modelCalls: work.calls, notes: work.notes };
      }
      if (tier === TIER.HUMAN) break;
    }
    if (work.deferral && !work.finalReceive && !capReached) throw work.deferral;
    return { tier: TIER.HUMAN, result: undefined, modelId: 'none', tokensIn: work.tokensIn, tokensOut: work.tokensOut, latencyMs: 0, modelCalls: work.calls, notes: work.notes };
  }

  /** One model tier: breaker, retried call, validation, one repair, confidence. */
  private async modelTier(work: RecordWork, tier: string, modelId: string, minConfidence: number): Promise<TierOutcome> {
    const { task, input } = work.message;
    const prompt = task.buildPrompt(input);
    const breaker = this.deps.breakerFor(modelId);
    await this.refreshBreaker(work.refreshed, modelId);
    let repair: RepairTurn | undefined;
    for (let pass = 0; pass < 2; pass += 1) {
      const callsLeft = work.callCap - work.calls;
      if (callsLeft <= 0) {
        work.notes.push({ tier, modelId, reason: 'the model call cap was reached' });
        return { kind: 'next' };
      }
      const permit = await breaker.acquire();
      if (permit.kind === 'denied') {
        work.metrics.count(METRIC.BREAKER_OPEN, 1, { task: task.name, model: modelId });
        work.notes.push({ tier, modelId, reason: `the breaker is ${permit.reason}`, errorClass: 'BreakerOpen' });
        if (this.deps.config.breakerWhenOpen === 'defer') {
          const previous = work.deferral instanceof BreakerOpenError ? work.deferral : undefined;
          work.deferral = previous
            ? new BreakerOpenError([...previous.modelIds, modelId], Math.min(previous.retryAfterMs, permit.retryAfterMs))
            : (work.deferral ?? new BreakerOpenError([modelId], permit.retryAfterMs));
        }
        return { kind: 'next' };
      }
      let response: ModelResponse;
      let latencyMs = 0;
      try {
        response = await this.deps.retryPolicy.execute(
          async ({ signal }) => {
            const started = this.now();
            try {
              return await this.call(work, modelId, prompt, permit, signal, repair);
            } finally {
              latencyMs = this.now() - started;
            }
          },
          {
            deadline: work.modelUntil,
            // A probe is one call: the breaker's single trial, not a retry loop.
            maxAttempts: permit.kind === 'probe' ? 1 : callsLeft,
            mayRetry: () => work.calls < work.callCap && breaker.allowsCalls(),
            onRetry: () => work.metrics.count(METRIC.MODEL_RETRIES, 1, { task: task.name, model: modelId }),
          },
        );
      } catch (error) {
        if (error instanceof ModelCallError || error instanceof TimeBudgetExhaustedError) {
          work.notes.push({ tier, modelId, reason: error.message, errorClass: errorClassOf(error) });
          if (error.retryable) work.deferral ??= error;
          return { kind: 'next' };
        }
        throw error;
      }

      try {
        const result = parseModelOutput(response.text, task.outputSchema, response.finishReason);
        const confidence = confidenceOf(result);
        if (minConfidence > 0 && confidence !== undefined && confidence < minConfidence) {
          work.notes.push({ tier, modelId, reason: `confidence ${confidence} is below ${minConfidence}` });
          return { kind: 'next' };
        }
        return { kind: 'served', result, response, latencyMs };
      } catch (error) {
        if (!(error instanceof InvalidModelOutputError)) throw error;
        work.metrics.count(METRIC.VALIDATION_FAILURES, 1, { task: task.name, model: modelId });
        if (pass === 0) {
          // One repair: the model sees its answer and what was wrong with it.
          repair = { previousAnswer: response.text.slice(0, MAX_REPAIR_QUOTE), problem: error.message };
          continue;
        }
        work.notes.push({ tier, modelId, reason: `invalid output after one repair: ${error.message}`, errorClass: error.name });
        return { kind: 'next' };
      }
    }
    return { kind: 'next' };
  }

  /** One model call with its metrics, its budget spend and its breaker outcome. */
  private async call(work: RecordWork, modelId: string, prompt: Prompt, permit: BreakerPermit, signal: AbortSignal, repair: RepairTurn | undefined): Promise<ModelResponse> {
    const { task } = work.message;
    const dimensions = { task: task.name, model: modelId };
    const breaker = this.deps.breakerFor(modelId);
    work.calls += 1;
    work.metrics.count(METRIC.MODEL_CALLS, 1, dimensions);
    const started = this.now();
    try {
      const response = await this.deps.provider.complete({
        modelId,
        prompt,
        signal,
        maxOutputTokens: this.deps.config.maxOutputTokens,
        repair,
      });
      work.metrics.observe(METRIC.MODEL_LATENCY, this.now() - started, dimensions);
      const cost = estimateCostUsd(this.deps.config.modelPrices[modelId], response.tokensIn, response.tokensOut);
      work.metrics.count(METRIC.TOKENS_IN, response.tokensIn, { task: task.name });
      work.metrics.count(METRIC.TOKENS_OUT, response.tokensOut, { task: task.name });
      work.metrics.count(METRIC.ESTIMATED_COST_USD, cost, { task: task.name }, MetricUnit.NoUnit);
      this.deps.budget.record(response.tokensIn, response.tokensOut, cost);
      work.tokensIn += response.tokensIn;
      work.tokensOut += response.tokensOut;
      await breaker.settle(permit, 'success');
      return response;
    } catch (error) {
      work.metrics.observe(METRIC.MODEL_LATENCY, this.now() - started, dimensions);
      const errorClass = errorClassOf(error);
      work.metrics.count(METRIC.MODEL_ERRORS, 1, { ...dimensions, errorClass });
      const systemic = error instanceof ModelCallError ? error.systemic : false;
      await breaker.settle(permit, systemic ? 'failure' : 'neutral', errorClass);
      throw error;
    }
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

  /**
   * A model's breaker state, read at most once per invocation (and per BREAKER_CACHE_MS), and only
   * when a record of the batch is about to call that model: a batch of duplicates reads nothing,
   * the secondary's state is read only when the chain gets to it. A failed read leaves the cached
   * state standing; the records' own DynamoDB writes will show whether the table is down.
   */
  private refreshBreaker(refreshed: Map<string, Promise<void>>, modelId: string): Promise<void> {
    let pending = refreshed.get(modelId);
    if (!pending) {
      pending = this.deps
        .breakerFor(modelId)
        .refresh()
        .catch((error: unknown) => {
          this.deps.logger.warn('breaker state could not be read', { modelId, errorClass: errorClassOf(error), error: (error as Error).message });
        });
      refreshed.set(modelId, pending);
    }
    return pending;
  }

  /**
   * Writes the batch's breaker counts and budget spend, but never past the invocation's deadline:
   * the records are settled already, and a Lambda timeout now would send the whole batch round
   * again. A write that does not finish in time is logged; its counts are lost, not the records.
   */
  private async flushGuards(deadline: number): Promise<void> {
    const { config, breakerFor, budget, logger } = this.deps;
    const models = [config.primaryModelId, config.secondaryModelId].filter((id): id is string => Boolean(id));
    const flushes = Promise.allSettled([...models.map((modelId) => breakerFor(modelId).flush()), budget.flush()]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - FLUSH_GUARD_MS - this.now()));
    });
    const outcomes = await Promise.race([flushes, timeout]);
    clearTimeout(timer);
    if (outcomes === 'timeout') {
      logger.warn('shared breaker or budget state was not written before the deadline', { modelIds: models });
      return;
    }
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        const error = outcome.reason as Error;
        logger.warn('shared breaker or budget state could not be written', { errorClass: errorClassOf(error), error: error.message });
      }
    }
  }

  /** One metric set and one log line per record: nothing is silent. */
  private report(record: SQSRecord, result: RecordResult, started: number, metrics: BatchMetrics): void {
    const { logger, config } = this.deps;
    const task = result.task ?? UNKNOWN_TASK_DIMENSION;
    metrics.count(METRIC.RECORDS_RECEIVED, 1, { task });
    metrics.count(OUTCOME_METRIC[result.outcome], 1, { task });
    const receiveCount = receiveCountOf(record);
    // Rejections go to the DLQ now; a failure on the last receive goes there by the queue's redrive.
    const deadLettered = result.outcome === OUTCOME.REJECTED || (result.retry && receiveCount >= config.maxReceiveCount);
    if (deadLettered) metrics.count(METRIC.RECORDS_DEAD_LETTERED, 1, { task });
    const sentAt = Number(record.attributes.SentTimestamp);
    if (Number.isFinite(sentAt) && sentAt > 0) metrics.observe(METRIC.RECORD_AGE, Math.max(0, this.now() - sentAt), { task });

    const fields = {
      inputHash: result.key,
      messageId: record.messageId,
      jobId: result.jobId,
      correlationId: result.correlationId ?? result.key,
      task,
      outcome: result.outcome,
      tier: result.tier,
      modelId: result.modelId,
      attempts: result.modelCalls ?? 0,
      receiveCount,
      errorClass: result.error ? errorClassOf(result.error) : undefined,
      error: result.error?.message,
      retryInSeconds: result.retry ? result.visibilitySeconds : undefined,
      deadLettered: deadLettered || undefined,
      reasons: result.notes && result.notes.length > 0 ? result.notes : undefined,
      durationMs: this.now() - started,
      ...(config.logRawInput ? { body: record.body.slice(0, 2000) } : {}),
    };
    if (result.outcome === OUTCOME.FAILED || result.outcome === OUTCOME.REJECTED) logger.warn('record', fields);
    else logger.info('record', fields);
  }
}

function receiveCountOf(record: SQSRecord): number {
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
