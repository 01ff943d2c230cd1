import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC, SHADOW_VARIANT, TIER, VARIANT } from '../contract';
import type { LedgerStore } from '../ledger/ledger-store';
import type { ModelProvider } from '../model/model-provider';
import { CLOSED_SNAPSHOT, type BreakerSnapshot } from '../resilience/breaker-state';
import { estimateCostUsd, type HourlyBudget, hourOf } from '../resilience/budget';
import { DynamoDbBreakerStore } from '../resilience/dynamodb-breaker-store';
import { RetryPolicy } from '../resilience/retry-policy';
import type { RuntimeSwitches } from '../resilience/runtime-switches';
import { SharedBreaker } from '../resilience/shared-breaker';
import { TASK_NAMES, type TaskVersionName, taskVersionName } from '../tasks/registry';
import type { BatchMetrics } from './batch-metrics';
import { FallbackChain, type Served } from './fallback-chain';
import type { ParsedMessage } from './message-parser';
import { compareResults } from './result-agreement';
import type { RuntimeConfig } from './runtime-config';

/*
 * The shadow run (issue 15): a sampled share of completed records also asks a candidate model,
 * after the primary result is stored. The candidate's answer goes to the ledger item's `shadow`
 * attribute (never the result) and to metrics with the dimension variant = shadow, beside the
 * baseline's for the same records. It never fails the record: every error is counted and logged.
 *
 * Cost when no shadow is configured: none. `run` returns before any request when the stage names
 * no candidate and no `shadow.*` switch does (a field read of the switches already in memory).
 */

/** Hash buckets of the sample: percentages to 1/100 of a percent. */
const BUCKETS = 10_000;

/** Whether a key is in the shadow's sample: salted apart from the canary's split, so the two are independent. */
export function shadowSampled(key: string, percent: number): boolean {
  if (!(percent > 0)) return false;
  if (percent >= 100) return true;
  return createHash('sha256').update(`shadow#${key}`).digest().readUInt32BE(0) % BUCKETS < percent * (BUCKETS / 100);
}

/**
 * The shadow's breaker store: always closed, writes nothing. The candidate is not serving, so it
 * has no breaker to protect callers with, and its failures must not open the primary's (they are
 * counted as ShadowErrors instead).
 */
class DetachedBreakerStore extends DynamoDbBreakerStore {
  override async read(): Promise<BreakerSnapshot> {
    return CLOSED_SNAPSHOT;
  }
  override async record(): Promise<BreakerSnapshot> {
    return CLOSED_SNAPSHOT;
  }
  override async open(): Promise<boolean> {
    return false;
  }
}

export interface ShadowRunDependencies {
  readonly config: RuntimeConfig;
  readonly provider: ModelProvider;
  readonly logger: Logger;
  readonly ledger: LedgerStore;
  /** The hourly model budget: a spent budget skips the shadow, and its calls count against it. */
  readonly budget: HourlyBudget;
  /** `shadow.model` / `shadow.percent` override the stage config's candidate. @default none */
  readonly switches?: RuntimeSwitches;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The candidate in force: the switches' when they name one, else the stage config's. A model, a
 * task version, or both; a task version alone is asked of the primary model.
 */
export interface ShadowCandidate {
  readonly modelId: string;
  readonly taskVersion?: TaskVersionName;
  readonly percent: number;
}

export class ShadowRun {
  private readonly now: () => number;
  private readonly chains = new Map<string, FallbackChain>();
  private hour = '';
  private callsThisHour = 0;

  constructor(private readonly deps: ShadowRunDependencies) {
    this.now = deps.now ?? Date.now;
  }

  candidate(): ShadowCandidate | undefined {
    const { config } = this.deps;
    const switched = this.deps.switches?.current().shadow;
    const named = switched?.modelId || switched?.taskVersion ? switched : undefined;
    const modelId = named ? named.modelId : config.shadowModelId;
    const taskVersion = named ? named.taskVersion : config.shadowTaskVersion;
    const percent = named ? named.percent : config.shadowPercent;
    if (!(modelId || taskVersion) || !(percent > 0)) return undefined;
    return { modelId: modelId ?? config.primaryModelId, percent, ...(taskVersion ? { taskVersion } : {}) };
  }

  /**
   * Asks the candidate for a completed record's answer (when the record is sampled), stores it as
   * the item's shadow and counts agreement, latency and cost per variant. Never throws.
   */
  async run(message: ParsedMessage, primary: Served, metrics: BatchMetrics, modelUntil: number): Promise<void> {
    const candidate = this.candidate();
    if (!candidate || primary.tier === TIER.HUMAN || !shadowSampled(message.key, candidate.percent)) return;
    // A candidate version is of one task: other tasks' records use their current prompt, and with
    // the primary model as well there would be nothing new to ask.
    const promptVersion = candidate.taskVersion?.task === message.task.name ? candidate.taskVersion.version : undefined;
    if (promptVersion === undefined && candidate.modelId === this.deps.config.primaryModelId) return;
    const dimensions = { variant: SHADOW_VARIANT };
    metrics.count(METRIC.SHADOW_SAMPLES, 1, dimensions);
    try {
      if (!this.takeCall()) {
        metrics.count(METRIC.SHADOW_SKIPPED, 1, dimensions);
        return;
      }
      if (this.deps.budget.exhausted()) {
        metrics.count(METRIC.SHADOW_SKIPPED, 1, dimensions);
        return;
      }
      const served = await this.chainFor(candidate.modelId).serve({
        message,
        modelUntil,
        receiveCount: 1,
        // One call and its one repair: the shadow never retries (it must not hold the record longer than a call).
        callCap: 2,
        finalReceive: true,
        metrics,
        refreshed: new Map(),
        calls: 0,
        tokensIn: 0,
        tokensOut: 0,
        notes: [],
        ...(promptVersion ? { promptVersion } : {}),
      });
      const { modelPrices } = this.deps.config;
      const costUsd = estimateCostUsd(modelPrices[candidate.modelId], served.tokensIn, served.tokensOut);
      const primaryCost = estimateCostUsd(modelPrices[primary.modelId], primary.tokensIn, primary.tokensOut);
      const answered = served.tier !== TIER.HUMAN;
      const agrees = answered ? compareResults(primary.result, served.result).agrees : false;
      if (!answered) metrics.count(METRIC.SHADOW_ERRORS, 1, dimensions);
      metrics.count(METRIC.SHADOW_AGREEMENT, agrees ? 1 : 0, dimensions, MetricUnit.Count);
      metrics.observe(METRIC.VARIANT_LATENCY, served.latencyMs, dimensions);
      metrics.observe(METRIC.VARIANT_LATENCY, primary.latencyMs, { variant: VARIANT.BASELINE });
      metrics.count(METRIC.VARIANT_COST_USD, costUsd, dimensions, MetricUnit.NoUnit);
      metrics.count(METRIC.VARIANT_COST_USD, primaryCost, { variant: VARIANT.BASELINE }, MetricUnit.NoUnit);
      await this.deps.ledger.recordShadow?.({
        key: message.key,
        shadow: {
          modelId: candidate.modelId,
          ...(promptVersion ? { promptVersion: taskVersionName(message.task.name, promptVersion) } : {}),
          ...(answered ? { result: served.result } : { error: served.notes.map((note) => note.reason).join('; ') || 'no answer' }),
          agrees: Boolean(agrees),
          latencyMs: served.latencyMs,
          costUsd,
          at: this.now(),
        },
        signal: AbortSignal.timeout(Math.max(1, modelUntil - this.now() + 1000)),
      });
    } catch (error) {
      metrics.count(METRIC.SHADOW_ERRORS, 1, dimensions);
      this.deps.logger.warn('shadow run failed: counted, the record is not affected', {
        inputHash: message.key,
        modelId: candidate.modelId,
        error: (error as Error).message,
      });
    }
  }

  /** The per-hour cap of this execution environment. */
  private takeCall(): boolean {
    const hour = hourOf(this.now());
    if (hour !== this.hour) {
      this.hour = hour;
      this.callsThisHour = 0;
    }
    if (this.callsThisHour >= this.deps.config.shadowMaxPerHour) return false;
    this.callsThisHour += 1;
    return true;
  }

  /**
   * The processor's own chain, narrowed to the candidate: its one model tier (validation, one
   * repair), no secondary, no rules, no switches, one attempt, a breaker of its own that writes nothing.
   */
  private chainFor(modelId: string): FallbackChain {
    let chain = this.chains.get(modelId);
    if (!chain) {
      const { config } = this.deps;
      const narrowed: RuntimeConfig = {
        ...config,
        primaryModelId: modelId,
        secondaryModelId: undefined,
        taskPolicies: Object.fromEntries(TASK_NAMES.map((task) => [task, { tiers: [TIER.PRIMARY], minConfidence: 0 }])),
        minConfidence: 0,
      };
      const store = new DetachedBreakerStore(undefined as never, '');
      const breaker = new SharedBreaker(modelId, store, {
        failureThreshold: 0,
        failureRatePercent: 100,
        minCalls: Number.MAX_SAFE_INTEGER,
        windowMs: config.breakerWindowMs,
        cooldownMs: config.breakerCooldownMs,
        cacheMs: Number.MAX_SAFE_INTEGER,
        probeLeaseMs: config.modelCallTimeoutMs,
      });
      chain = new FallbackChain({
        config: narrowed,
        provider: this.deps.provider,
        logger: this.deps.logger,
        breakerFor: () => breaker,
        budget: this.deps.budget,
        retryPolicy: new RetryPolicy({ maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, callTimeoutMs: config.modelCallTimeoutMs }),
        now: this.now,
      });
      this.chains.set(modelId, chain);
    }
    return chain;
  }
}
