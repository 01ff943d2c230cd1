import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { bulkhead } from 'cockatiel';
import { MESSAGE_ATTRIBUTE, METRIC } from '../contract';
import type { LedgerStore } from '../ledger/ledger-store';
import type { ModelProvider } from '../model/model-provider';
import type { AnyTaskDefinition } from '../tasks/task-definition';
import { errorClassOf, InvalidModelOutputError, ModelCallError, PipelineError, RejectedInputError, TimeBudgetExhaustedError, asPipelineError } from './errors';
import { rejectedKey } from './input-key';
import { parseMessage, type ParsedMessage } from './message-parser';
import { parseModelOutput } from './model-output';
import type { QueueGateway } from './queue-gateway';
import { RecentKeys } from './recent-keys';
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

/** The serving tier of a result. */
export const TIER = { PRIMARY: 'primary', SECONDARY: 'secondary', RULES: 'rules', HUMAN: 'human' } as const;

export interface BatchProcessorDependencies {
  readonly config: RuntimeConfig;
  readonly ledger: LedgerStore;
  readonly queues: QueueGateway;
  readonly provider: ModelProvider;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The part of the Lambda context the processor uses. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
  readonly awsRequestId: string;
}

interface RecordResult {
  readonly outcome: Outcome;
  readonly key?: string;
  readonly tier?: string;
  readonly modelId?: string;
  readonly modelCalls?: number;
  readonly error?: PipelineError;
  /** The record goes back to the queue (a batch item failure). */
  readonly retry: boolean;
}

/** Below this much time left, a record is not started: it could not finish inside the lease. */
const MIN_WORK_MS = 250;

/** How many terminal keys one warm instance remembers. */
const RECENT_KEYS_CAPACITY = 10_000;

/**
 * Processes one SQS batch: records in parallel (bounded by `recordConcurrency`), each through
 * parse → key → claim → model → validate → complete, and returns the partial batch response.
 *
 * Records of one batch that share a key are processed once: the first is the leader, the others
 * take its outcome without touching DynamoDB.
 */
export class BatchProcessor {
  private readonly recentKeys = new RecentKeys(RECENT_KEYS_CAPACITY);
  private readonly now: () => number;

  constructor(private readonly deps: BatchProcessorDependencies) {
    this.now = deps.now ?? Date.now;
  }

  async process(event: SQSEvent, context: InvocationContext): Promise<SQSBatchResponse> {
    const started = this.now();
    const deadline = started + context.getRemainingTimeInMillis();
    const workUntil = deadline - this.deps.config.timeMarginMs;
    const limit = bulkhead(this.deps.config.recordConcurrency, event.Records.length);
    const leaders = new Map<string, Promise<RecordResult>>();

    const results = await Promise.all(
      event.Records.map((record) => {
        const parsed = this.parse(record);
        if (parsed instanceof RejectedInputError) return limit.execute(() => this.reject(record, parsed));
        const leader = leaders.get(parsed.key);
        if (leader) return leader.then((result) => this.follow(result));
        const work = limit.execute(() => this.processRecord(record, parsed, deadline, workUntil));
        leaders.set(parsed.key, work);
        return work;
      }),
    );

    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    results.forEach((result, index) => {
      const record = event.Records[index] as SQSRecord;
      this.report(record, result, started);
      if (result.retry) batchItemFailures.push({ itemIdentifier: record.messageId });
    });
    this.deps.metrics.publishStoredMetrics();
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
  private follow(leader: RecordResult): RecordResult {
    if (leader.outcome === OUTCOME.COMPLETED || leader.outcome === OUTCOME.IN_REVIEW || leader.outcome === OUTCOME.DUPLICATE) {
      return { outcome: OUTCOME.DUPLICATE, key: leader.key, retry: false };
    }
    return { ...leader, modelCalls: 0 };
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
      return { outcome: OUTCOME.REJECTED, key, error, retry: false };
    } catch (failure) {
      // Could not park it: leave it on the queue, the next receive rejects it again.
      return { outcome: OUTCOME.FAILED, key, error: asPipelineError(failure), retry: true };
    }
  }

  private async processRecord(record: SQSRecord, message: ParsedMessage, deadline: number, workUntil: number): Promise<RecordResult> {
    const { key, task } = message;
    if (this.recentKeys.has(key)) return { outcome: OUTCOME.DUPLICATE, key, retry: false };
    if (workUntil - this.now() < MIN_WORK_MS) {
      return { outcome: OUTCOME.FAILED, key, error: new TimeBudgetExhaustedError('too little time left to start'), retry: true };
    }

    const claimToken = randomUUID();
    let claimed = false;
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
        return { outcome: OUTCOME.DUPLICATE, key, retry: false };
      }
      if (claim.kind === 'claimed-elsewhere') {
        await this.deps.queues.delay(record.receiptHandle, this.deps.config.claimedElsewhereVisibilitySeconds).catch(() => undefined);
        return { outcome: OUTCOME.CLAIMED_ELSEWHERE, key, retry: true };
      }
      claimed = true;
      if (claim.takenOver) this.deps.metrics.addMetric(METRIC.LEASES_TAKEN_OVER, MetricUnit.Count, 1);

      const served = await this.serve(task, message.input, workUntil);
      if (served.tier === TIER.HUMAN) {
        await this.escalate(record, message, claimToken, served.reasons);
        this.recentKeys.add(key);
        return { outcome: OUTCOME.IN_REVIEW, key, tier: TIER.HUMAN, modelCalls: served.modelCalls, retry: false };
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
        now: this.now(),
      });
      this.recentKeys.add(key);
      const outcome = completion === 'completed' ? OUTCOME.COMPLETED : OUTCOME.DUPLICATE;
      return { outcome, key, tier: served.tier, modelId: served.modelId, modelCalls: served.modelCalls, retry: false };
    } catch (thrown) {
      const error = asPipelineError(thrown);
      if (claimed) {
        await this.deps.ledger
          .recordFailure({
            key,
            claimToken,
            errorClass: errorClassOf(error),
            message: error.message,
            receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1'),
            now: this.now(),
          })
          .catch(() => undefined); // The lease ends by itself at the deadline.
      }
      return { outcome: OUTCOME.FAILED, key, error, retry: true };
    }
  }

  /**
   * The fallback chain: primary model → the task's rules → human review. Retryable model errors
   * are thrown (the record goes back to the queue); invalid output and non-retryable errors move
   * down the chain.
   */
  private async serve(task: AnyTaskDefinition, input: unknown, workUntil: number): Promise<Served> {
    const reasons: string[] = [];
    const modelId = this.deps.config.primaryModelId;
    const callStarted = this.now();
    const budgetMs = workUntil - callStarted;
    try {
      const response = await this.deps.provider.complete({ modelId, prompt: task.buildPrompt(input), signal: AbortSignal.timeout(budgetMs) });
      const latencyMs = this.now() - callStarted;
      this.deps.metrics.addMetric(METRIC.MODEL_CALLS, MetricUnit.Count, 1);
      this.deps.metrics.addMetric(METRIC.MODEL_LATENCY, MetricUnit.Milliseconds, latencyMs);
      this.deps.metrics.addMetric(METRIC.TOKENS_IN, MetricUnit.Count, response.tokensIn);
      this.deps.metrics.addMetric(METRIC.TOKENS_OUT, MetricUnit.Count, response.tokensOut);
      const result = parseModelOutput(response.text, task.outputSchema, response.finishReason);
      return { tier: TIER.PRIMARY, result, modelId: response.modelId, tokensIn: response.tokensIn, tokensOut: response.tokensOut, latencyMs, modelCalls: 1, reasons };
    } catch (error) {
      if (error instanceof ModelCallError && error.retryable) {
        this.deps.metrics.addMetric(METRIC.MODEL_CALLS, MetricUnit.Count, 1);
        throw error;
      }
      if (!(error instanceof InvalidModelOutputError || error instanceof ModelCallError)) throw error;
      reasons.push(`${TIER.PRIMARY}: ${error.message}`);
    }
    if (task.rules) {
      const result = task.outputSchema.parse(task.rules(input));
      return { tier: TIER.RULES, result, modelId: 'rules', tokensIn: 0, tokensOut: 0, latencyMs: 0, modelCalls: 1, reasons };
    }
    return { tier: TIER.HUMAN, result: undefined, modelId: 'none', tokensIn: 0, tokensOut: 0, latencyMs: 0, modelCalls: 1, reasons };
  }

  private async escalate(record: SQSRecord, message: ParsedMessage, claimToken: string, reasons: readonly string[]): Promise<void> {
    await this.deps.queues.escalate(
      JSON.stringify({ key: message.key, task: message.task.name, taskVersion: message.task.version, jobId: message.jobId, input: message.input, reasons }),
      {
        [MESSAGE_ATTRIBUTE.INPUT_HASH]: message.key,
        [MESSAGE_ATTRIBUTE.ORIGINAL_MESSAGE_ID]: record.messageId,
        [MESSAGE_ATTRIBUTE.FAILURE_REASON]: 'ESCALATED',
        [MESSAGE_ATTRIBUTE.STAGE]: this.deps.config.stage,
      },
    );
    await this.deps.ledger.markInReview({ key: message.key, claimToken, reasons, now: this.now() });
  }

  /** One metric set and one log line per record: nothing is silent. */
  private report(record: SQSRecord, result: RecordResult, started: number): void {
    const { metrics, logger, config } = this.deps;
    metrics.addMetric(METRIC.RECORDS_RECEIVED, MetricUnit.Count, 1);
    const counter: Record<Outcome, string> = {
      [OUTCOME.COMPLETED]: METRIC.RECORDS_COMPLETED,
      [OUTCOME.DUPLICATE]: METRIC.DUPLICATES_SKIPPED,
      [OUTCOME.REJECTED]: METRIC.RECORDS_REJECTED,
      [OUTCOME.IN_REVIEW]: METRIC.RECORDS_ESCALATED,
      [OUTCOME.CLAIMED_ELSEWHERE]: METRIC.RECORDS_CLAIMED_ELSEWHERE,
      [OUTCOME.FAILED]: METRIC.RECORDS_FAILED,
    };
    metrics.addMetric(counter[result.outcome], MetricUnit.Count, 1);
    const sentAt = Number(record.attributes.SentTimestamp);
    if (Number.isFinite(sentAt) && sentAt > 0) metrics.addMetric(METRIC.RECORD_AGE, MetricUnit.Milliseconds, Math.max(0, this.now() - sentAt));

    const fields = {
      inputHash: result.key,
      messageId: record.messageId,
      correlationId: result.key,
      outcome: result.outcome,
      tier: result.tier,
      modelId: result.modelId,
      modelCalls: result.modelCalls ?? 0,
      receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1'),
      errorClass: result.error ? errorClassOf(result.error) : undefined,
      error: result.error?.message,
      durationMs: this.now() - started,
      ...(config.logRawInput ? { body: record.body.slice(0, 2000) } : {}),
    };
    if (result.outcome === OUTCOME.FAILED || result.outcome === OUTCOME.REJECTED) logger.warn('record', fields);
    else logger.info('record', fields);
  }
}

interface Served {
  readonly tier: string;
  readonly result: unknown;
  readonly modelId: string;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly latencyMs: number;
  readonly modelCalls: number;
  readonly reasons: string[];
}
