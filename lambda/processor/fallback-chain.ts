import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC, TIER, type VariantName } from '../contract';
import {
  asPipelineError,
  BreakerOpenError,
  BudgetExhaustedError,
  errorClassOf,
  InvalidModelOutputError,
  isRateLimited,
  ModelCallError,
  type PipelineError,
  RateLimitedError,
  TimeBudgetExhaustedError,
} from '../errors/pipeline-errors';
import type { ModelProvider, ModelResponse, RepairTurn } from '../model/model-provider';
import { estimateCostUsd, type HourlyBudget, msUntilNextHour } from '../resilience/budget';
import type { ModelRateLimiter } from '../resilience/rate-limiter';
import type { RetryPolicy } from '../resilience/retry-policy';
import type { RuntimeSwitches } from '../resilience/runtime-switches';
import type { BreakerPermit, SharedBreaker } from '../resilience/shared-breaker';
import type { Prompt } from '../tasks/task-definition';
import { promptOf, taskVersionName } from '../tasks/registry';
import type { BatchMetrics } from './batch-metrics';
import type { ParsedMessage } from './message-parser';
import { parseModelOutput } from './model-output';
import type { RuntimeConfig } from './runtime-config';
import { confidenceOf, policyFor } from './task-policy';
import type { TierNote } from './tier-note';
import { routeRecord } from './variants';

/** What the fallback chain needs: the models, their guards and the one retry layer. */
export interface FallbackChainDependencies {
  readonly config: RuntimeConfig;
  readonly provider: ModelProvider;
  readonly logger: Logger;
  /** The shared breaker of a model (one per model id, kept for the life of the execution environment). */
  readonly breakerFor: (modelId: string) => SharedBreaker;
  readonly budget: HourlyBudget;
  /** The one retry layer of model calls. */
  readonly retryPolicy: RetryPolicy;
  /** @default Date.now */
  readonly now?: () => number;
  /** Runtime switches (tier off, force rules, the canary): lambda/processor/variants.ts. @default none */
  readonly switches?: RuntimeSwitches;
  /** Pacing to the provider's quota, per model (lambda/resilience/rate-limiter.ts). @default none: no pacing */
  readonly rateLimiterFor?: (modelId: string) => ModelRateLimiter | undefined;
}

export type { TierNote } from './tier-note';

/** The work on one record in one receive: its model calls and what each tier said. */
export interface RecordWork {
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
  /** This receive has too little time left for any model call (the last receive settles without one). */
  readonly noModelTime?: boolean;
  /**
   * Every model this record would try before its first non-model tier is refused by its breaker, as
   * read before the claim (`breakerDeferral`): on the last receive the chain goes to the rules or
   * review without asking. A model tier after the rules that is not among them throws
   * {@link ModelTierUnclaimed}: the record is claimed before any call.
   */
  readonly modelsRefused?: BreakerOpenError;
  /** A reason to try again later (transient model trouble) rather than settle for rules or review. */
  deferral?: PipelineError;
  /** The variant that serves the record (set by the chain from the canary split). */
  variant?: VariantName;
  /**
   * The version of the task's prompt the model tiers use: a candidate version for a canary key
   * (set by the chain from the route) or a shadow; undefined for the task's current version.
   */
  promptVersion?: string;
}

/** What one model tier came to. */
export type TierOutcome =
  | { readonly kind: 'served'; readonly result: unknown; readonly response: ModelResponse; readonly latencyMs: number }
  | { readonly kind: 'next' };

export interface Served {
  readonly tier: string;
  readonly result: unknown;
  readonly modelId: string;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly latencyMs: number;
  readonly modelCalls: number;
  readonly notes: readonly TierNote[];
}

/** Serving before the claim reached a model tier that may be called: only a claimed record calls a model. */
export class ModelTierUnclaimed extends Error {
  override readonly name = 'ModelTierUnclaimed';
  constructor(readonly modelId: string) {
    super(`${modelId} may be called: claim first`);
  }
}

/** The longest model answer quoted back to the model in a repair attempt. */
const MAX_REPAIR_QUOTE = 4000;

/**
 * The fallback chain of one record in one receive: primary model → secondary model → the task's
 * rules → human review, with the breaker, the budget and the call cap as guards. It writes nothing
 * to the ledger or the queues: the record protocol settles what it serves.
 */
export class FallbackChain {
  private readonly now: () => number;

  constructor(private readonly deps: FallbackChainDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * The fallback chain, per the task's policy: primary model → secondary model → the task's rules
   * → human review. A model tier that cannot serve — its breaker open, the budget spent, its
   * answer invalid after one repair, its confidence too low, a non-retryable error — hands over to
   * the next tier. Transient trouble (retryable errors past the retry budget, an open breaker
   * that the stage defers on) is remembered: instead of settling for rules or review, the record
   * goes back to the queue to try the models again later — except on its last receive.
   */
  async serve(work: RecordWork): Promise<Served> {
    const { task, input } = work.message;
    const { config } = this.deps;
    const policy = policyFor(task.name, config);
    const budgetSpent = this.deps.budget.exhausted();
    if (budgetSpent) work.metrics.count(METRIC.BUDGET_EXHAUSTED, 1, { task: task.name });
    let capReached = work.callCap <= 0;
    // Runtime switches and the canary split (variants.ts): the tiers left and each tier's model.
    const route = routeRecord(this.deps.switches?.current(), task.name, work.message.key, policy.tiers);
    work.variant = route.variant;
    work.promptVersion ??= route.promptVersion;
    work.notes.push(...route.notes);

    for (const tier of route.tiers) {
      if (tier === TIER.PRIMARY || tier === TIER.SECONDARY) {
        const modelId = route.modelFor(tier, config);
        if (!modelId) continue;
        if (work.noModelTime) {
          // Not the loop guard: this receive has no time for a model, the rules may still serve.
          work.notes.push({ tier, modelId, reason: 'too little time left for a model call' });
          continue;
        }
        if (work.modelsRefused) {
          // Served before the claim: a model the pre-claim check did not find refused (one after the
          // rules in a task's order) must not be called unclaimed; the caller claims and serves again.
          if (!work.modelsRefused.modelIds.includes(modelId)) throw new ModelTierUnclaimed(modelId);
          work.notes.push({ tier, modelId, reason: 'the breaker is open', errorClass: 'BreakerOpen' });
          continue;
        }
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
        return {
          tier,
          result: parsed.data,
          modelId: 'rules',
          tokensIn: work.tokensIn,
          tokensOut: work.tokensOut,
          latencyMs: 0,
          modelCalls: work.calls,
          notes: work.notes,
        };
      }
      if (tier === TIER.HUMAN) break;
    }
    if (work.deferral && !work.finalReceive && !capReached) throw work.deferral;
    return {
      tier: TIER.HUMAN,
      result: undefined,
      modelId: 'none',
      tokensIn: work.tokensIn,
      tokensOut: work.tokensOut,
      latencyMs: 0,
      modelCalls: work.calls,
      notes: work.notes,
    };
  }

  /**
   * Asked before the claim: the deferral `serve` would end in for this record, when the open
   * breakers alone decide it — the stage defers on an open breaker, the budget is not spent, and
   * every model tier the record would try before its first non-model tier is refused by its
   * breaker as last read (refreshed here, once per batch, as `serve` would). Undefined otherwise.
   *
   * Why: during an outage such a record used to claim the key, get refused, record the failure
   * and go back — two ledger writes (and a read of the call counter) per receive for nothing. Now
   * it goes back unclaimed, hidden until the breaker may let a probe through, exactly as long as
   * the deferral would have hidden it. Not checked here: the per-key call cap, which needs a read;
   * a record that reached it is escalated on a later receive instead of this one.
   */
  async breakerDeferral(message: ParsedMessage, refreshed: Map<string, Promise<void>>, metrics: BatchMetrics): Promise<BreakerOpenError | undefined> {
    const { config } = this.deps;
    if (config.breakerWhenOpen !== 'defer' || this.deps.budget.exhausted()) return undefined;
    const task = message.task.name;
    const route = routeRecord(this.deps.switches?.current(), task, message.key, policyFor(task, config).tiers);
    const firstOther = route.tiers.findIndex((tier) => tier !== TIER.PRIMARY && tier !== TIER.SECONDARY);
    const modelIds = (firstOther === -1 ? route.tiers : route.tiers.slice(0, firstOther))
      .map((tier) => route.modelFor(tier, config))
      .filter((modelId): modelId is string => Boolean(modelId));
    if (modelIds.length === 0) return undefined;
    let retryAfterMs = Number.POSITIVE_INFINITY;
    for (const modelId of modelIds) {
      await this.refreshBreaker(refreshed, modelId);
      const refusal = this.deps.breakerFor(modelId).refusal();
      if (!refusal) return undefined;
      retryAfterMs = Math.min(retryAfterMs, refusal.retryAfterMs);
    }
    for (const modelId of modelIds) metrics.count(METRIC.BREAKER_OPEN, 1, { task, model: modelId });
    return new BreakerOpenError(modelIds, retryAfterMs);
  }

  /** One model tier: breaker, retried call, validation, one repair, confidence. */
  private async modelTier(work: RecordWork, tier: string, modelId: string, minConfidence: number): Promise<TierOutcome> {
    const { task, input } = work.message;
    const version = work.promptVersion ?? task.version;
    const prompt = promptOf(task, version, input);
    const request = { prompt, promptVersion: taskVersionName(task.name, version) };
    const breaker = this.deps.breakerFor(modelId);
    await this.refreshBreaker(work.refreshed, modelId);
    let repair: RepairTurn | undefined;
    for (let pass = 0; pass < 2; pass += 1) {
      const callsLeft = work.callCap - work.calls;
      if (callsLeft <= 0) {
        work.notes.push({ tier, modelId, reason: 'the model call cap was reached' });
        return { kind: 'next' };
      }
      let permit: BreakerPermit;
      try {
        permit = await breaker.acquire();
      } catch (error) {
        // Taking the probe is a control-table write; when it fails this tier cannot be tried now,
        // but the record is not lost for it: the chain goes on to the next tier.
        work.notes.push({ tier, modelId, reason: `the breaker's state could not be written: ${(error as Error).message}`, errorClass: errorClassOf(error) });
        work.deferral ??= asPipelineError(error);
        return { kind: 'next' };
      }
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
      let attempted = false;
      try {
        response = await this.deps.retryPolicy.execute(
          async ({ signal }) => {
            const started = this.now();
            attempted = true;
            try {
              return await this.call(work, modelId, request, permit, signal, repair);
            } finally {
              latencyMs = this.now() - started;
            }
          },
          {
            deadline: work.modelUntil,
            // Quota pacing: wait for a token before each attempt, leaving the call its whole timeout.
            beforeAttempt: () => this.pace(work, modelId, prompt),
            // A probe is one call: the breaker's single trial, not a retry loop.
            maxAttempts: permit.kind === 'probe' ? 1 : callsLeft,
            mayRetry: () => work.calls < work.callCap && breaker.allowsCalls(),
            onRetry: () => work.metrics.count(METRIC.MODEL_RETRIES, 1, { task: task.name, model: modelId }),
          },
        );
      } catch (error) {
        // A probe refused before its call (too little time left) is released, not left to lapse.
        if (!attempted) await this.settleSafely(breaker, () => breaker.release(permit), modelId);
        // Rate limited (a 429, or no token from the limiter) is not an outage: while receives
        // remain, the record goes back to the queue rather than to a weaker tier.
        if (isRateLimited(error) && !work.finalReceive) {
          if (error instanceof RateLimitedError) work.metrics.count(METRIC.QUOTA_DEFERRALS, 1, { task: task.name, model: modelId });
          throw error;
        }
        if (error instanceof ModelCallError || error instanceof TimeBudgetExhaustedError || error instanceof RateLimitedError) {
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

  /**
   * Waits for the model's quota token (lambda/resilience/rate-limiter.ts) no later than a whole
   * call timeout before the record's model time ends; throws RateLimitedError when none comes.
   */
  private async pace(work: RecordWork, modelId: string, prompt: Prompt): Promise<void> {
    const limiter = this.deps.rateLimiterFor?.(modelId);
    if (!limiter) return;
    const { waitedMs } = await limiter.acquire({
      deadline: work.modelUntil - this.deps.retryPolicy.callTimeoutMs,
      tokens: this.deps.config.maxOutputTokens + estimatePromptTokens(prompt),
    });
    if (waitedMs > 0) work.metrics.observe(METRIC.QUOTA_WAIT, waitedMs, { task: work.message.task.name, model: modelId });
  }

  /** One model call with its metrics, its budget spend and its breaker outcome. */
  private async call(
    work: RecordWork,
    modelId: string,
    { prompt, promptVersion }: { readonly prompt: Prompt; readonly promptVersion: string },
    permit: BreakerPermit,
    signal: AbortSignal,
    repair: RepairTurn | undefined,
  ): Promise<ModelResponse> {
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
        promptVersion,
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
      // A paid, good answer is kept whatever the breaker's write does.
      await this.settleSafely(breaker, () => breaker.settle(permit, 'success'), modelId);
      return response;
    } catch (error) {
      work.metrics.observe(METRIC.MODEL_LATENCY, this.now() - started, dimensions);
      const errorClass = errorClassOf(error);
      work.metrics.count(METRIC.MODEL_ERRORS, 1, { ...dimensions, errorClass });
      // A 429 feeds the learned rate (AIMD) when no quota is configured.
      if (isRateLimited(error)) this.deps.rateLimiterFor?.(modelId)?.onThrottled((error as ModelCallError).retryAfterMs);
      const systemic = error instanceof ModelCallError ? error.systemic : false;
      // The model's error is what the chain acts on (fallback, deferral), not the breaker's write.
      await this.settleSafely(breaker, () => breaker.settle(permit, systemic ? 'failure' : 'neutral', errorClass), modelId);
      throw error;
    }
  }

  /**
   * A breaker write that fails is logged and otherwise ignored: the shared state is advice (a probe's
   * token lapses with its lease, counts are re-sent with the next batch), while the record's own
   * outcome — a paid answer, or the model error that sends it down the chain — must not change.
   */
  private async settleSafely(breaker: SharedBreaker, write: () => Promise<void>, modelId: string): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.deps.logger.warn('breaker state could not be written', {
        modelId,
        breaker: breaker.modelId,
        errorClass: errorClassOf(error),
        error: (error as Error).message,
      });
    }
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
}

/**
 * The loop guard: model calls this record may make now. At most MODEL_CALLS_PER_RECEIVE in one
 * receive, and MODEL_CALLS_PER_KEY over every receive and re-send of the same input.
 */
export function callCapFor(callsSoFar: number, config: Pick<RuntimeConfig, 'modelCallsPerReceive' | 'modelCallsPerKey'>): number {
  const { modelCallsPerReceive, modelCallsPerKey } = config;
  return Math.max(0, Math.min(modelCallsPerReceive, modelCallsPerKey - callsSoFar));
}

/** A prompt's tokens, roughly (4 characters a token), for a tokens-per-minute quota. */
function estimatePromptTokens(prompt: Prompt): number {
  return Math.ceil((prompt.system.length + prompt.user.length) / 4);
}
