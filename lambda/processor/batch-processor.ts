import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { bulkhead } from 'cockatiel';
import { METRIC, TIER } from '../contract';
import { errorClassOf, RejectedInputError } from '../errors/pipeline-errors';
import type { LedgerStore } from '../ledger/ledger-store';
import type { ModelProvider } from '../model/model-provider';
import type { HourlyBudget } from '../resilience/budget';
import type { KeyCallCounter } from '../resilience/key-call-counter';
import type { RetryPolicy } from '../resilience/retry-policy';
import type { ModelRateLimiter } from '../resilience/rate-limiter';
import type { RuntimeSwitches } from '../resilience/runtime-switches';
import type { SharedBreaker } from '../resilience/shared-breaker';
import { BatchMetrics } from './batch-metrics';
import type { EntityGuard } from './entity-guard';
import { FallbackChain } from './fallback-chain';
import { parseMessage, type ParsedMessage } from './message-parser';
import type { QueueGateway } from './queue-gateway';
import { RecentKeys } from './recent-keys';
import type { ShadowRun } from './shadow-run';
import { VisibilityChanges } from './visibility-changes';
import { type BatchContext, OUTCOME, type Outcome, receiveCountOf, RecordProtocol, type RecordResult } from './record-protocol';
import type { RuntimeConfig } from './runtime-config';

export { OUTCOME, type Outcome } from './record-protocol';
export type { TierNote } from './fallback-chain';

/** The counter each outcome adds to (built once, not per record). */
const OUTCOME_METRIC: Readonly<Record<Outcome, string>> = {
  [OUTCOME.COMPLETED]: METRIC.RECORDS_COMPLETED,
  [OUTCOME.DUPLICATE]: METRIC.DUPLICATES_SKIPPED,
  [OUTCOME.REJECTED]: METRIC.RECORDS_REJECTED,
  [OUTCOME.IN_REVIEW]: METRIC.RECORDS_ESCALATED,
  [OUTCOME.CLAIMED_ELSEWHERE]: METRIC.RECORDS_CLAIMED_ELSEWHERE,
  [OUTCOME.FAILED]: METRIC.RECORDS_FAILED,
  [OUTCOME.DEFERRED]: METRIC.RECORDS_DEFERRED,
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
  /** Escalation loops across edits (issue 16); absent: no entity handling. */
  readonly entityGuard?: EntityGuard;
  /** @default Date.now */
  readonly now?: () => number;
  /** Jitter of the queue-level backoff. @default Math.random */
  readonly random?: () => number;
  /** Runtime switches, refreshed by the handler before each batch (lambda/resilience/runtime-switches.ts). @default none */
  readonly switches?: RuntimeSwitches;
  /** Pacing to the provider's quota, per model (lambda/resilience/rate-limiter.ts). @default none: no pacing */
  readonly rateLimiterFor?: (modelId: string) => ModelRateLimiter | undefined;
  /** The shadow run (shadow-run.ts). @default none */
  readonly shadow?: ShadowRun;
}

/** The part of the Lambda context the processor uses. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
  readonly awsRequestId: string;
}

/** Batch-end writes (breaker counts, budget) give up this long before the invocation's deadline. */
const FLUSH_GUARD_MS = 50;

/** The event source's longest batching window: a message may have been received this long before the invocation began. */
const MAX_BATCHING_WINDOW_MS = 300_000;

/** How many terminal keys one warm instance remembers. */
const RECENT_KEYS_CAPACITY = 10_000;

/**
 * Processes one SQS batch: records in parallel (bounded by `recordConcurrency`), each through
 * parse → key → claim → guards → model (retries, validation, repair) → fallback chain → complete,
 * and returns the partial batch response. Records that go back to the queue are hidden for a
 * jittered backoff by receive count, so retries are spread rather than synchronized.
 *
 * Records of one batch that share a key are processed once: the first is the leader, the others
 * take its outcome without touching DynamoDB.
 *
 * DynamoDB cost of the resilience layer on the happy path, per execution environment and nothing
 * per record: one read of the primary model's breaker per 15 s while it is quiet (closed, no
 * failure; else per BREAKER_CACHE_MS; only when a record calls the model), and one budget ADD per
 * 10 s (or per 1% of a limit) while it makes model calls. Bounds: docs/performance.md.
 */
export class BatchProcessor {
  private readonly now: () => number;
  private readonly protocol: RecordProtocol;

  constructor(private readonly deps: BatchProcessorDependencies) {
    this.now = deps.now ?? Date.now;
    const chain = new FallbackChain(deps);
    this.protocol = new RecordProtocol({ ...deps, chain, recentKeys: new RecentKeys(RECENT_KEYS_CAPACITY) });
  }

  async process(event: SQSEvent, context: InvocationContext): Promise<SQSBatchResponse> {
    const started = this.now();
    const deadline = started + context.getRemainingTimeInMillis();
    const workUntil = deadline - this.deps.config.timeMarginMs;
    const limit = bulkhead(this.deps.config.recordConcurrency, event.Records.length);
    const leaders = new Map<string, Promise<RecordResult>>();
    const metrics = new BatchMetrics();
    const { timeMarginMs } = this.deps.config;
    const batch: BatchContext = {
      deadline,
      workUntil,
      // Half the margin after work ends: the settling writes land inside the lease, and the lease
      // ends half a margin before the deadline (skew between clocks, a write still in flight).
      leaseUntil: deadline - timeMarginMs / 2,
      receivedBy: started - MAX_BATCHING_WINDOW_MS,
      metrics,
      refreshed: new Map(),
      visibility: new VisibilityChanges(),
    };
    if (this.deps.budget.limited) metrics.observe(METRIC.BUDGET_USED_PERCENT, this.deps.budget.usedPercent(), {}, MetricUnit.Percent);

    const results = await Promise.all(
      event.Records.map((record) => {
        const parsed = this.parse(record);
        if (parsed instanceof RejectedInputError) return limit.execute(() => this.protocol.reject(record, parsed, batch));
        const leader = leaders.get(parsed.key);
        if (leader) return leader.then((result) => this.protocol.follow(record, result, batch));
        const work = limit.execute(() => this.protocol.processRecord(record, parsed, batch));
        leaders.set(parsed.key, work);
        return work;
      }),
    );

    // The records given back, hidden in one request per ten; then shared state once per batch:
    // breaker counts (only when something failed), the budget's ADD.
    const notDelayed = await batch.visibility.send(this.deps.queues, AbortSignal.timeout(Math.max(1, deadline - FLUSH_GUARD_MS - this.now())));
    await this.flushGuards(deadline);

    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    const outcomes: Partial<Record<Outcome, number>> = {};
    results.forEach((settled, index) => {
      const record = event.Records[index] as SQSRecord;
      const result = notDelayed.has(record.receiptHandle) ? { ...settled, visibilitySeconds: undefined } : settled;
      this.report(record, result, started, metrics);
      outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
      if (result.retry) batchItemFailures.push({ itemIdentifier: record.messageId });
    });
    metrics.publish(this.deps.metrics);
    // One line per invocation, whatever its records: how many ended how (the per-record lines of
    // plain successes are DEBUG, see `report`).
    this.deps.logger.info('batch', { records: event.Records.length, ...outcomes, durationMs: this.now() - started });
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

  /**
   * One metric set per record, and one log line with the fields the runbook's queries read. A plain
   * success (the primary model's answer with nothing to note) logs at DEBUG,
   * which a stage samples per invocation (`processor.recordLogSampleRate`): it is most of the
   * traffic, no runbook query looks for it, and the ledger item holds the same facts. Every other
   * record (a fallback tier, a note, an error, a retry, a rejection, a review) logs at INFO or WARN.
   */
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
      // Only a message's own correlation id: without one it is the input hash, already on the line.
      correlationId: result.correlationId === result.key ? undefined : result.correlationId,
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
    else if (isPlainSuccess(result)) logger.debug('record', fields);
    else logger.info('record', fields);
  }
}

/**
 * A record the runbook never needs a line for: the primary model's answer with nothing to note.
 * Not a duplicate skip: DESIGN.md's "nothing is silent" names every rejection, retry, fallback,
 * duplicate skip and dead letter as a metric and a log line.
 */
export function isPlainSuccess(result: RecordResult): boolean {
  if (result.error || result.retry || (result.notes && result.notes.length > 0)) return false;
  return result.outcome === OUTCOME.COMPLETED && result.tier === TIER.PRIMARY;
}
