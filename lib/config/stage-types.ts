import type { GuardAction, ModelProviderName, TierName } from '../../lambda/contract';
import type { QuotaConfig } from './quota-config';

/*
 * The one place where the pipeline's numbers live. Every construct reads them from the
 * `StageConfig` that `loadStageConfig` (stage-load.ts) returns; none hides a number of its own.
 *
 * The config is three modules, none of which imports the CDK (pipectl loads it):
 * - stage-types.ts (this file): the value sets and the interfaces, each value with its `@default`;
 * - stage-schema.ts: the zod schema that applies the defaults and checks ranges and cross-field
 *   rules when the app synthesizes, so a bad stage fails `cdk synth` with a message that names the
 *   key, instead of failing `cdk deploy` later;
 * - stage-load.ts: `loadStageConfig`, which merges a stage of stages.ts with overrides and
 *   validates it, and `StageConfigError`.
 */

/** What happens to stateful resources (tables, queues, keys, log groups) when the stack is deleted. */
export const REMOVAL_POLICIES = ['destroy', 'retain'] as const;
export type RemovalPolicyName = (typeof REMOVAL_POLICIES)[number];

/** Log levels Powertools Logger understands (`POWERTOOLS_LOG_LEVEL`). */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/**
 * The retention periods CloudWatch Logs accepts, in days. "Never expire" is left out on purpose:
 * every log group of the pipeline has a retention.
 */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
// Written out rather than read from aws-cdk-lib's RetentionDays, so the config (which pipectl
// loads) does not pull in the CDK; test/infra/stage-config-cdk-free.test.ts checks the list
// against RetentionDays.

/** AWS's guidance for SQS event sources: visibility timeout of at least six times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** The processor Lambda and its SQS event source. */
export interface ProcessorConfig {
  /** @default 512 */
  readonly memoryMb: number;
  /** Function timeout. Queues' visibility timeouts must be at least 6 x this. @default 30 */
  readonly timeoutSeconds: number;
  /** Records per invocation (1-10,000; above 10 a batching window is required). @default 10 */
  readonly batchSize: number;
  /** How long the event source waits to fill a batch. @default 1 */
  readonly maxBatchingWindowSeconds: number;
  /**
   * Concurrent invocations the event source may start (SQS event sources accept 2-1,000): the
   * first of the three concurrency bounds, and the one that protects the model provider.
   * @default 5
   */
  readonly maxConcurrency: number;
  /** Records of one batch processed at the same time in one invocation. @default 5 */
  readonly recordConcurrency: number;
  /** Time kept back from the invocation's remaining time: work stops this long before the end. @default 3000 */
  readonly timeMarginMs: number;
  /** Visibility given to a record whose key another live invocation holds. @default 10 */
  readonly claimedElsewhereVisibilitySeconds: number;
  /** Retention of the function's log group; one of {@link LOG_RETENTION_DAYS}. @default 30 */
  readonly logRetentionDays: (typeof LOG_RETENTION_DAYS)[number];
  /** @default 'INFO' */
  readonly logLevel: LogLevelName;
  /**
   * Share of invocations that log DEBUG, which is where a plain success's per-record line goes (a
   * record the primary model completed with nothing to note). Every other
   * record is logged at INFO or WARN in every invocation; every invocation logs one `batch` line.
   * Powertools' debug sampling (POWERTOOLS_LOGGER_SAMPLE_RATE), decided per invocation.
   * @default 0.01
   */
  readonly recordLogSampleRate: number;
  /**
   * Run the processor with `--enable-source-maps`, so a stack trace names the TypeScript source.
   * Off by default: Node reads and indexes the bundle's source map at every cold start, about 40 ms
   * of a 200 ms init here (issue 17, docs/performance.md). The map ships in the asset either way.
   * The scheduled monitors and the rollback action, which are not on the hot path, always have it.
   * @default false
   */
  readonly sourceMapStackTraces: boolean;
}

/** A work queue and its dead-letter queue. */
export interface QueueConfig {
  /** Must be at least 6 x `processor.timeoutSeconds`. @default 180 */
  readonly visibilityTimeoutSeconds: number;
  /** How long a message waits in the queue (1-14 days). @default 4 (input), 7 (review) */
  readonly retentionDays: number;
  /** Receives before a message is moved to the dead-letter queue. @default 5 (input), 1000 (review: see the schema) */
  readonly maxReceiveCount: number;
  /**
   * Retention of the dead-letter queue; must be longer than `retentionDays`, because a standard
   * queue keeps a message's original enqueue time when it is dead-lettered.
   * @default 14
   */
  readonly dlqRetentionDays: number;
}

/** The idempotency ledger (DynamoDB). */
export interface LedgerConfig {
  /** Items expire this many days after their last write (DynamoDB TTL). @default 30 */
  readonly ttlDays: number;
  /** @default true */
  readonly pointInTimeRecovery: boolean;
  /** Refuse `DeleteTable` while set. @default false (true in prod) */
  readonly deletionProtection: boolean;
  /**
   * Encrypt the ledger and control tables with a customer-managed KMS key (rotation on) instead of
   * the AWS-managed `aws/dynamodb` key: the key policy, its audit trail and its deletion are then
   * yours. @default false (true in prod)
   */
  readonly customerManagedKey: boolean;
}

/** Which model the processor calls. */
export interface ModelConfig {
  /**
   * `simulated` (in-process, no network), `bedrock` (Converse API; IAM is scoped to the model ids
   * below) or `openai-compatible` (see `openAiCompatible`).
   * @default 'simulated'
   */
  readonly provider: ModelProviderName;
  /** A Bedrock model id or ARN, or the endpoint's model name. @default 'sim-primary' */
  readonly primaryModelId: string;
  /** The cheaper model the chain falls back to; `''` for none. @default 'sim-secondary' */
  readonly secondaryModelId: string;
  /** Where an `openai-compatible` provider sends its requests; required by that provider only. */
  readonly openAiCompatible?: OpenAiCompatibleConfig;
  /** Upper bound of output tokens per call. @default 512 */
  readonly maxOutputTokens: number;
  /** Prices per model id, for the cost estimate and the USD budget. @default prices of the simulated models */
  readonly prices: Readonly<Record<string, ModelPriceConfig>>;
  /** A result whose `confidence` is below this goes down the fallback chain; 0 turns it off. @default 0 */
  readonly minConfidence: number;
  /** Per-task overrides of the chain's tiers and confidence threshold. @default {} */
  readonly taskPolicies: Readonly<Record<string, TaskPolicyConfig>>;
  /** Seed of the simulated model; the same seed gives the same answers. @default 42 */
  readonly simulatorSeed: number;
  /** Latency added to each simulated model call. @default 0 */
  readonly simulatorLatencyMs: number;
}

/**
 * An OpenAI-compatible endpoint. There is deliberately no field for the key itself: the stack
 * passes the secret's ARN, and the processor reads the secret at cold start.
 */
export interface OpenAiCompatibleConfig {
  /** Up to and including the API version, e.g. `https://api.openai.com/v1`. https only. */
  readonly baseUrl: string;
  /** The complete ARN (with its 6-character suffix) of the Secrets Manager secret holding the API key. */
  readonly apiKeySecretArn: string;
}

/** Prices of one model in US dollars per million tokens. */
export interface ModelPriceConfig {
  readonly inputUsdPerMillionTokens: number;
  readonly outputUsdPerMillionTokens: number;
}

/** How one task goes down the chain. */
export interface TaskPolicyConfig {
  /** Tiers in order, from primary, secondary, rules, human. @default all four */
  readonly tiers?: readonly TierName[];
  /** @default model.minConfidence */
  readonly minConfidence?: number;
}

/** The one retry layer of model calls, and the queue-level backoff behind it. */
export interface RetryConfig {
  /** Attempts of one call, the first included. @default 3 */
  readonly maxAttempts: number;
  /** Full-jitter exponential backoff between attempts: base and cap. @default 200, 5000 */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Timeout of one call; never more than the invocation's remaining time either. @default 10000 */
  readonly callTimeoutMs: number;
  /** Loop guard: model calls per record per receive (retries and repairs included). @default 6 */
  readonly callsPerReceive: number;
  /** Loop guard: model calls per input over all its receives; then human review. @default 20 */
  readonly callsPerKey: number;
  /** A record that goes back to the queue is hidden base × 2^(receives − 1) s, equal-jittered, capped. @default 10, 300 */
  readonly queueBackoffBaseSeconds: number;
  readonly queueBackoffMaxSeconds: number;
}

/** The circuit breaker shared by every processor instance (state in the control table). */
export interface BreakerConfig {
  /**
   * Failures in the sliding window that open it, whatever the rate; 0 turns this rule off. A count
   * means something only for a known traffic level (30% throttling at 300 calls a minute is 90
   * failures), so the default relies on the rate alone.
   * @default 0
   */
  readonly failureThreshold: number;
  /** Failure rate (%) that opens it once the window holds `minCalls`; 0 turns this rule off. @default 50 */
  readonly failureRatePercent: number;
  /** @default 20 */
  readonly minCalls: number;
  /** @default 60 */
  readonly windowSeconds: number;
  /** Open this long before one probe call is let through. @default 30 */
  readonly cooldownSeconds: number;
  /** How long an instance trusts the state it read: at most one read per this long. @default 2000 */
  readonly cacheMs: number;
  /** With every model tier's breaker open: `defer` (back to the queue) or `fallback` (rules, review). @default 'defer' */
  readonly whenOpen: GuardAction;
}

/** The stage's model spend per UTC hour (counted in the control table). */
export interface BudgetConfig {
  /** Tokens in + out per hour; 0 for no limit. @default 0 */
  readonly tokensPerHour: number;
  /** Estimated US dollars per hour; 0 for no limit. @default 0 */
  readonly usdPerHour: number;
  /** Once spent: `fallback` (skip the models: rules, review) or `defer` (back to the queue). @default 'fallback' */
  readonly whenExhausted: GuardAction;
}

// ── entity loops (issue 16) ─────────────────────────────────────────────────────────────────
/**
 * Escalation loops across edits: inputs whose envelope names an `entityId` (a ticket, a case).
 * Counted per entity in the control table (lambda/resilience/entity-decisions.ts).
 */
export interface EntityLoopsConfig {
  /** Automated decisions one entity may get in the window; the next input goes to review ("escalation loop") and the entity is held. @default 3 */
  readonly decisionLimit: number;
  /** Length of the sliding window. @default 86400 (a day) */
  readonly windowSeconds: number;
  /**
   * Estimated Jaccard similarity (word bigrams, MinHash) to the entity's last decided input at or
   * above which that decision is reused; 1.01 turns reuse off. On the labelled set of
   * docs/entity-loops.md, 0.6 has precision 1.000 and recall 0.958. @default 0.6
   */
  readonly reuseThreshold: number;
  /** Escalation loops detected in 15 minutes that raise the `entity-escalation-loops` ticket alarm. @default 5 */
  readonly loopAlarmThreshold: number;
}
// ── end entity loops ────────────────────────────────────────────────────────────────────────

/** Who an alarm topic notifies. Every address and endpoint gets its own SNS subscription. */
export interface NotificationTargets {
  /** Email addresses; each must confirm the subscription SNS mails it. @default [] */
  readonly emails: readonly string[];
  /**
   * HTTPS endpoints: a PagerDuty or Opsgenie CloudWatch integration URL, a chat webhook relay.
   * SNS confirms them with a request the endpoint must answer. @default []
   */
  readonly httpsEndpoints: readonly string[];
  /**
   * Nobody, on purpose, and why (e.g. "a staging stage: alarms are read on the dashboard"). A
   * production stage must set a target or this. @default undefined
   */
  readonly none?: string;
}

/**
 * The thresholds of the alarm catalog (`lib/observability/alarm-catalog.ts`): every number an
 * alarm compares against. Periods and datapoints live in the catalog's family files
 * (`lib/observability/*-alarms.ts`), next to the reason for them.
 */
export interface AlarmThresholds {
  /** Page when the oldest input message is older than this (s): the stage's SLA. @default 900 */
  readonly inputAgeSlaSeconds: number;
  /** Ticket when the input DLQ holds at least this many messages. @default 1 */
  readonly dlqMessages: number;
  /** Page when the processor fails whole invocations (crash, timeout) this often per minute. @default 1 */
  readonly processorErrorsPerMinute: number;
  /** Ticket when Lambda throttles the processor this often per minute. @default 1 */
  readonly processorThrottlesPerMinute: number;
  /** Page when at least this percent of model calls fail (any error class). @default 20 */
  readonly modelErrorRatePercent: number;
  /** Ticket when the p99 model latency reaches this (ms): a brownout. @default 15000 */
  readonly modelLatencyP99Ms: number;
  /** Ticket when at least this percent of model answers fail parsing or the task's schema. @default 10 */
  readonly validationFailureRatePercent: number;
  /** Ticket when at least this percent of results are served below the primary tier. @default 25 */
  readonly fallbackRatePercent: number;
  /**
   * Rate alarms (error, validation, fallback) stay quiet in a minute with fewer samples than this:
   * one failure out of two calls is not a 50% error rate worth waking anyone for. @default 10
   */
  readonly rateMinimumSamples: number;
  /** Ticket when the oldest human-review message is older than this (s). @default 14400 */
  readonly reviewBacklogAgeSeconds: number;
  /** Ticket when a model's breaker has refused calls for this many consecutive minutes. @default 3 */
  readonly breakerOpenMinutes: number;
  /** Ticket when the hour's token/cost budget is this percent used. @default 80 */
  readonly budgetWarnPercent: number;
  /** Page when the hour's budget is this percent used: the primary model is being skipped. @default 100 */
  readonly budgetExhaustedPercent: number;
  /** Page when messages have waited this many consecutive minutes while no record finished. @default 5 */
  readonly processorSilentMinutes: number;
  /** Ticket when the pipeline's tables throttle this many requests per minute. @default 1 */
  readonly dynamodbThrottlesPerMinute: number;
  /** Ticket when the pipeline's tables return this many system errors (HTTP 500) per minute. @default 1 */
  readonly dynamodbSystemErrorsPerMinute: number;
  /** Page when overdue jobs have more than this many items without an outcome. @default 0 */
  readonly incompleteJobItems: number;
  /** Ticket when the largest per-feature drift score (PSI) reaches this. @default 0.1 */
  readonly driftTicket: number;
  /** Page when the largest per-feature drift score (PSI) reaches this. @default 0.25 */
  readonly driftPage: number;
}

// ── change safety (issue 15) ──
/**
 * The canary alarm (lib/observability/canary-alarms.ts) compares the canary's records with the
 * baseline's over the same minutes; a breach rolls the canary back to 0%.
 */
export interface CanaryConfig {
  /** Breach when the canary's fallback rate exceeds the baseline's by more than this (percentage points). @default 15 */
  readonly fallbackRateIncreasePercent: number;
  /** Breach when the canary's validation-failure rate exceeds the baseline's by more than this (points). @default 10 */
  readonly validationFailureRateIncreasePercent: number;
  /** Breach when the canary's average latency is more than this many times the baseline's… @default 2 */
  readonly latencyRatio: number;
  /** …and more than this much higher (ms), so that 3 ms against 1 ms is not a regression. @default 1000 */
  readonly latencyIncreaseMs: number;
  /** No verdict in a minute with fewer records than this on either variant. @default 5 */
  readonly minimumSamples: number;
}

/**
 * The shadow run: a share of records also asks a candidate model after the primary result is
 * stored; its answer goes to the ledger item's `shadow` attribute, never the result. The
 * `shadow.model` and `shadow.percent` runtime switches override the first two at run time.
 */
export interface ShadowConfig {
  /** The candidate model id; empty: the primary model (with `taskVersion`) or no shadow. @default '' */
  readonly modelId: string;
  /**
   * A candidate version of a task's prompt, `<task>@<version>` (listed in the task's
   * `candidateVersions`); empty: none. The processor refuses to start with one it does not know. @default ''
   */
  readonly taskVersion: string;
  /** Share of records sampled (by a hash of the key), 0–100. @default 0 */
  readonly percent: number;
  /** At most this many shadow calls per hour in one execution environment (0: none). @default 1000 */
  readonly maxPerHour: number;
}
// ── end change safety ──

/** Alarms, where they notify, and where their runbook lives. */
export interface ObservabilityConfig {
  /**
   * Where RUNBOOK.md is published; each alarm's description links `<runbookBaseUrl>#<alarm id>`.
   * An absolute `https://` URL (the file's page in your Git host) is clickable in the page, the
   * email and the console; a production stage must have one. `pipectl runbook <alarm>` prints the
   * section either way.
   * @default DEFAULT_RUNBOOK_URL
   */
  readonly runbookBaseUrl: string;
  /**
   * Who the paging alarms page. A production stage must name someone, or say `none` and why.
   * @default no subscriptions
   */
  readonly page: NotificationTargets;
  /** Who receives tickets (and a copy of each paging alarm, one by one). @default no subscriptions */
  readonly ticket: NotificationTargets;
  readonly alarms: AlarmThresholds;
  /**
   * The AWS region the stage is deployed to, for the console links of each runbook section (the
   * alarm, the dashboard, a Logs Insights query). The stack itself is region-agnostic: it deploys
   * where the CDK CLI's credentials point, so set this to the same region.
   * @default 'us-east-1'
   */
  readonly region: string;
  /** Whom the runbook's escalate step names. A production stage must name an owner. @default no owner */
  readonly escalation: EscalationConfig;
}

/**
 * Who owns the pipeline when on-call escalates: the last step of every runbook section names them
 * for the stage. A production stage must set `owner` (the schema refuses it otherwise), because
 * "call the pipeline owners" is no help at 2 AM; other stages may leave it out.
 */
export interface EscalationConfig {
  /** A team or on-call rotation, e.g. `ml-platform-oncall`. @default undefined (the runbook says "the pipeline owners") */
  readonly owner?: string;
  /** How to reach them: a pager schedule or chat channel URL, an email address. @default undefined */
  readonly contact?: string;
}

/** The scheduled drift monitor (lambda/monitors/drift-monitor.ts). */
export interface DriftConfig {
  /** Minutes of completions compared with the baseline on each run. @default 60 */
  readonly windowMinutes: number;
  /** How often it runs (an EventBridge rate, in minutes). @default 15 */
  readonly scheduleMinutes: number;
  /** PSI's floor for a bin's share, so an empty bin counts as this share instead of infinity. @default 0.0001 */
  readonly epsilon: number;
  /** Below this many items in the window no score is published: too few to say anything. @default 50 */
  readonly minSampleSize: number;
  /**
   * Below this many items, a feature's PSI counts only when chi-squared (unordered bins) or
   * Kolmogorov-Smirnov (ordered bins) finds the difference significant; PSI alone is noisy there.
   * @default 1000
   */
  readonly smallSampleSize: number;
  /** The significance level of those tests. @default 0.01 */
  readonly significanceLevel: number;
  /** Index shards read per hour, of 16: each is a uniform 1/16 sample of the hour's items. @default 16 */
  readonly sampleShards: number;
  /** Items one run reads at most, whatever the traffic: the bound on its cost and time. @default 20000 */
  readonly maxItemsPerRun: number;
  /**
   * Opt-in: disable the processor's event source mapping when the largest score reaches
   * `autoPauseThreshold` (messages wait in the queue; `pipectl resume` undoes it). The runbook
   * says when not to turn this on.
   * @default false
   */
  readonly autoPause: boolean;
  /** @default observability.alarms.driftPage */
  readonly autoPauseThreshold?: number;
  /** @default 256 */
  readonly memoryMb: number;
  /** @default 120 */
  readonly timeoutSeconds: number;
}

/** The scheduled reconciler (lambda/monitors/completeness.ts): jobs past their deadline with items missing. */
export interface CompletenessConfig {
  /**
   * Minutes after a job is sent by which every item should have an outcome: `pipectl send` sets
   * the job's deadline to sent at + this.
   * @default 60
   */
  readonly jobDeadlineMinutes: number;
  /** How often the reconciler runs (an EventBridge rate, in minutes). @default 5 */
  readonly scheduleMinutes: number;
  /** Keys of stuck or pending items recorded per job, at most (a DynamoDB item holds 400 KB). @default 100 */
  readonly maxKeysRecorded: number;
  /** @default 256 */
  readonly memoryMb: number;
  /** @default 60 */
  readonly timeoutSeconds: number;
}

/** Everything that differs between stages, validated when the app synthesizes. */
export interface StageConfig {
  /** The stage name, one of the keys of `STAGES`. */
  readonly stage: string;
  /** A production stage refuses unsafe settings (see `allowUnsafeProductionSettings`). @default false */
  readonly production: boolean;
  /**
   * The processor's service name: its `POWERTOOLS_SERVICE_NAME`, so the `service` field of its log
   * lines and the `service` dimension of its metrics, which the alarms and the dashboard match.
   * (The scheduled monitors keep their own: `reconciler`, `drift-monitor`.)
   * @default 'processor'
   */
  readonly serviceName: string;
  /** What happens to tables, queues, keys and log groups when the stack is deleted. @default 'retain' */
  readonly removalPolicy: RemovalPolicyName;
  /** Let log lines carry raw input text. @default false */
  readonly logRawInput: boolean;
  /** Let the simulated model inject faults (game days, chaos tests). @default false */
  readonly allowFaultInjection: boolean;
  /**
   * The explicit override that lets a production stage set `logRawInput` or
   * `allowFaultInjection`; without it such a stage fails to synthesize.
   * @default false
   */
  readonly allowUnsafeProductionSettings: boolean;
  readonly processor: ProcessorConfig;
  readonly inputQueue: QueueConfig;
  readonly reviewQueue: QueueConfig;
  readonly ledger: LedgerConfig;
  /** The drift monitor: window, schedule, statistics, sampling, opt-in auto-pause. */
  readonly drift: DriftConfig;
  /** The reconciler: job deadline and schedule. */
  readonly completeness: CompletenessConfig;
  /** Alarm thresholds, notification targets, the runbook's address. */
  readonly observability: ObservabilityConfig;
  // ── change safety (issue 15) ──
  /** The canary alarm: how much worse than the baseline a canary may be before it is rolled back. */
  readonly canary: CanaryConfig;
  /** The shadow run's candidate, sample share and hourly cap. */
  readonly shadow: ShadowConfig;
  // ── end change safety ──
  readonly model: ModelConfig;
  readonly retry: RetryConfig;
  readonly breaker: BreakerConfig;
  readonly budget: BudgetConfig;
  /** Provider quotas and pacing (issue 14): lib/config/quota-config.ts. */
  readonly quotas: QuotaConfig;
  /** Escalation loops across edits (issue 16). */
  readonly entityLoops: EntityLoopsConfig;
}
